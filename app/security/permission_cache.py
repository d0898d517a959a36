"""Permission sets per role set, cached in the process and checked against the database's version.

FAB's `has_access` asks the database on every check (about six statements for one API request: the
public role twice, the user's roles, their permissions). Here each process keeps the permission set
of each role, the union per role set, and the public role's set, all tagged with the permissions
version of `rp_permissions_version` (bumped by triggers in the same transaction as any change to
roles, permissions or a user's roles, whatever wrote it).

- The version is re-read at most every `RP_PERMISSIONS_VERSION_TTL_S` seconds (default 2): a revoked
  permission stops working in every process within that time (issue 16 asks for 5 s).
- A change flushed through this process's ORM session drops the cache at once, and for a short
  window afterwards the version is re-read on every check: a change seen inside a transaction that is
  then rolled back must not stay cached. Versions come from a sequence, so a rolled-back version is
  never the committed one again.
- A check uses the generation matching the version it read, so a thread never reads another
  transaction's uncommitted permissions.
- The signed-in user (columns and roles) is cached in the same generation: a request whose token or
  session names a cached user sends no SQL at all. Deactivating a user, changing their password,
  name or roles bumps the version (migration 0018 adds ab_user's key columns), so a deactivated
  account stops working within the same few seconds as a revoked permission.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterable

from sqlalchemy import event, text
from sqlalchemy.orm import Session, attributes, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict, set_committed_value

Pair = tuple[str, str]  # (permission name, view/resource name), as FAB spells them
DEFAULT_TTL_S = 2.0
LOCAL_CHANGE_WINDOW_S = 30.0
MAX_CACHED_USERS = 10_000
# User columns whose change must reach every process's cached users (migration 0018's trigger on
# ab_user bumps the version for these, and this process drops its cache at once).
USER_KEY_COLUMNS = ("active", "password", "username", "first_name", "last_name", "email")
VERSION_SQL = text("SELECT version FROM rp_permissions_version WHERE id = 1")


class _Generation:
    """Everything cached for one permissions version; replaced whole when the version changes."""

    __slots__ = ("version", "roles", "sets", "public", "users")

    def __init__(self, version: int | None) -> None:
        self.version = version
        self.roles: dict[int, frozenset[Pair]] = {}
        self.sets: dict[tuple[int, ...], frozenset[Pair]] = {}
        self.public: frozenset[Pair] | None = None
        self.users: dict[int, UserSnapshot] = {}


class UserSnapshot:
    """A signed-in user's columns and roles as loaded at one permissions version.

    Every request gets its own detached copy (`copy()`): never an instance shared between threads or
    sessions, never one with pending changes (a copy attached to a session by mistake flushes
    nothing). Relationships other than roles and groups are not loaded on the copy; code that needs
    more of the user reads it from the database (the e-signature does, for the password hash)."""

    __slots__ = ("columns", "roles")

    def __init__(self, columns: dict[str, object], roles: tuple[tuple[int, str], ...]) -> None:
        self.columns = columns
        self.roles = roles

    @classmethod
    def of(cls, user: object) -> UserSnapshot:
        mapper = user.__mapper__  # type: ignore[attr-defined]
        columns = {attr.key: getattr(user, attr.key) for attr in mapper.column_attrs}
        roles = tuple((role.id, role.name) for role in user.roles)  # type: ignore[attr-defined]
        return cls(columns, roles)

    def copy(self, user_model: type, role_model: type) -> object:
        # Columns go straight into the instance's dict and are committed with it when the copy is made
        # detached (as loaded): the same state set_committed_value gives, without its per-column cost.
        user = user_model()
        instance_dict(user).update(self.columns)
        roles = []
        for role_id, name in self.roles:
            role = role_model()
            instance_dict(role).update(id=role_id, name=name)
            make_transient_to_detached(role)
            roles.append(role)
        set_committed_value(user, "roles", roles)
        set_committed_value(user, "groups", [])
        make_transient_to_detached(user)
        user.rp_cached_copy = True  # not a column: tells the security manager not to re-read it
        return user


class PermissionCache:
    """One per security manager (so two apps on two databases in one process never mix)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._gen: _Generation | None = None
        self._checked_at = 0.0
        self._recheck_until = 0.0
        _CACHES.add(self)

    def invalidate(self, recheck_for: float = LOCAL_CHANGE_WINDOW_S) -> None:
        with self._lock:
            self._gen = None
            self._recheck_until = time.monotonic() + recheck_for

    def generation(self, session: Session, ttl: float) -> _Generation:
        now = time.monotonic()
        gen = self._gen
        if gen is not None and now - self._checked_at < ttl and now >= self._recheck_until:
            return gen
        version = session.execute(VERSION_SQL).scalar()
        with self._lock:
            gen = self._gen
            if gen is None or gen.version != version:
                gen = self._gen = _Generation(version)
            self._checked_at = now
        return gen

    def for_roles(
        self,
        gen: _Generation,
        role_ids: Iterable[int],
        load: Callable[[list[int]], dict[int, frozenset[Pair]]],
    ) -> frozenset[Pair]:
        key = tuple(sorted(set(role_ids)))
        found = gen.sets.get(key)
        if found is None:
            missing = [r for r in key if r not in gen.roles]
            if missing:
                loaded = load(missing)
                for role_id in missing:
                    gen.roles[role_id] = loaded.get(role_id, frozenset())
            found = frozenset().union(*(gen.roles[r] for r in key))
            gen.sets[key] = found
        return found

    def user(self, gen: _Generation, user_id: int) -> UserSnapshot | None:
        return gen.users.get(user_id)

    def keep_user(self, gen: _Generation, user_id: int, snapshot: UserSnapshot) -> None:
        if len(gen.users) >= MAX_CACHED_USERS:
            gen.users.clear()  # a site has tens of users; this only bounds a pathological case
        gen.users[user_id] = snapshot

    def public(self, gen: _Generation, load: Callable[[], frozenset[Pair]]) -> frozenset[Pair]:
        if gen.public is None:
            gen.public = load()
        return gen.public


_CACHES: weakref.WeakSet[PermissionCache] = weakref.WeakSet()


def _security_classes() -> tuple[type, ...]:
    from flask_appbuilder.security.sqla.models import Group, Permission, PermissionView, Role, ViewMenu

    return (Role, Permission, ViewMenu, PermissionView, Group)


def _touches_permissions(session: Session) -> bool:
    from flask_appbuilder.security.sqla.models import User

    security = _security_classes()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, security):
            return True
        if isinstance(obj, User):
            if obj in session.new or obj in session.deleted:
                return True
            for key in ("roles", "groups", *USER_KEY_COLUMNS):
                history = attributes.get_history(obj, key, passive=attributes.PASSIVE_NO_INITIALIZE)
                if history.added or history.deleted:
                    return True
    return False


@event.listens_for(Session, "after_flush")
def _drop_on_local_change(session: Session, flush_context) -> None:
    """The database triggers bump the version for every process; this process need not wait."""
    if _CACHES and _touches_permissions(session):
        for cache in list(_CACHES):
            cache.invalidate()


def invalidate_all() -> None:
    """For code that changed permissions with plain SQL in this process (tests' clean-up)."""
    for cache in list(_CACHES):
        cache.invalidate()
