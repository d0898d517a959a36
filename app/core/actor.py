"""Who is acting: the signed-in user (session or JWT), or the system for jobs and automatic steps."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import has_request_context


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    printed_name: str
    roles: tuple[str, ...] = field(default_factory=tuple)
    customer_id: int | None = None

    @property
    def is_system(self) -> bool:
        return self.user_id is None

    def has_role(self, *names: str) -> bool:
        return any(r in self.roles for r in names)

    @property
    def roles_text(self) -> str:
        return ", ".join(self.roles)


SYSTEM = Actor(user_id=None, username="system", printed_name="System", roles=("System",))


def actor_from_user(user) -> Actor:
    if user is None or not getattr(user, "is_authenticated", True) or getattr(user, "id", None) is None:
        return SYSTEM
    name = f"{user.first_name} {user.last_name}".strip() or user.username
    return Actor(
        user_id=user.id,
        username=user.username,
        printed_name=name,
        roles=tuple(sorted(r.name for r in user.roles)),
        customer_id=getattr(user, "customer_id", None),
    )


def current_actor() -> Actor:
    """The user of this request (FAB sets `g.user` for session and JWT alike)."""
    if not has_request_context():
        return SYSTEM
    from flask import g
    from flask_login import current_user

    user = getattr(g, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        user = current_user if current_user and current_user.is_authenticated else None
    return actor_from_user(user)
