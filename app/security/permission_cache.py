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
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterable

from sqlalchemy import event, text
from sqlalchemy.orm import Session, attributes

Pair = tuple[str, str]  # (permission name, view/resource name), as FAB spells them
DEFAULT_TTL_S = 2.0
LOCAL_CHANGE_WINDOW_S = 30.0
VERSION_SQL = text("SELECT version FROM rp_permissions_version WHERE id = 1")


class _Generation:
    """Everything cached for one permissions version; replaced whole when the version changes."""

    __slots__ = ("version", "roles", "sets", "public")

    def __init__(self, version: int | None) -> None:
        self.version = version
        self.roles: dict[int, frozenset[Pair]] = {}
        self.sets: dict[tuple[int, ...], frozenset[Pair]] = {}
        self.public: frozenset[Pair] | None = None


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
            for key in ("roles", "groups"):
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
