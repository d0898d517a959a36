"""Saved Views: save, apply, rename and delete a user's named filter sets (per user, per page).

Rules:
- a view belongs to one user; nobody else can read, rename or delete it (another user's view is
  "not found", so ids can't be probed);
- the stored filters are only the list's own parameters, validated by the list's parser when
  saved (a view can never hold filters the page would refuse), without the page number;
- a name is 1..80 characters and unique per user and page, ignoring case (also a database index);
- at most MAX_PER_USER views per page, so the menu stays usable.
Saved views are preferences, not GMP records: no audit row. Each action commits once.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from app.batches.filters import KNOWN, parse_list_args
from app.batches.models import SavedView
from app.core.domain import DomainError, NotFound, ValidationFailed
from app.core.extensions import db

PAGE = "batches"
MAX_PER_USER = 50
MAX_NAME = 80
_NOT_SAVED = {"page", "_"}


def clean_query(args: MultiDict | dict | str) -> str:
    """The filter part of a list URL as a canonical query string (known keys, no empties, no page).

    Raises ValidationFailed when the filters are not valid for the list.
    """
    pairs = parse_qsl(args, keep_blank_values=False) if isinstance(args, str) else _pairs(args)
    kept = [(k, v.strip()) for k, v in pairs if k in KNOWN and k not in _NOT_SAVED and v.strip()]
    parse_list_args(MultiDict(kept))
    return urlencode(kept)


def _pairs(args) -> list[tuple[str, str]]:
    if hasattr(args, "items") and hasattr(args, "getlist"):
        return [(k, str(v)) for k, v in args.items(multi=True)]
    out: list[tuple[str, str]] = []
    for k, v in dict(args).items():
        for item in v if isinstance(v, list | tuple) else [v]:
            out.append((k, str(item)))
    return out


def list_views(user_id: int, page: str = PAGE) -> list[SavedView]:
    return list(
        db.session.execute(
            select(SavedView)
            .where(SavedView.user_id == user_id, SavedView.page == page)
            .order_by(func.lower(SavedView.name))
        ).scalars()
    )


def get_view(user_id: int, view_id: int) -> SavedView:
    view = db.session.get(SavedView, view_id)
    if view is None or view.user_id != user_id:
        raise NotFound("saved view")
    return view


def _name(raw: str | None) -> str:
    name = " ".join((raw or "").split())
    if not name:
        raise ValidationFailed("Give the view a name.", {"name": ["Required."]})
    if len(name) > MAX_NAME:
        raise ValidationFailed(
            f"The name is too long ({MAX_NAME} characters at most).", {"name": ["Too long."]}
        )
    return name


def _duplicate(name: str) -> DomainError:
    return DomainError(
        "DUPLICATE_NAME", f"You already have a view called “{name}”. Choose another name.", 409
    )


def save_view(user_id: int, name: str, query: MultiDict | dict | str, page: str = PAGE) -> SavedView:
    """Save the current filters under a name (rule: valid filters, unique name, bounded count)."""
    name = _name(name)
    try:
        stored = clean_query(query)
        count = db.session.execute(
            select(func.count())
            .select_from(SavedView)
            .where(SavedView.user_id == user_id, SavedView.page == page)
        ).scalar_one()
        if count >= MAX_PER_USER:
            raise DomainError(
                "TOO_MANY_VIEWS", f"You have {MAX_PER_USER} saved views already. Delete one first.", 409
            )
        view = SavedView(user_id=user_id, page=page, name=name, query=stored)
        db.session.add(view)
        db.session.commit()
    except IntegrityError as err:
        db.session.rollback()
        raise _duplicate(name) from err
    except Exception:
        db.session.rollback()
        raise
    return view


def rename_view(user_id: int, view_id: int, name: str) -> SavedView:
    """Rename one of the user's views (rule: the new name is unique for that user)."""
    name = _name(name)
    try:
        view = get_view(user_id, view_id)
        view.name = name
        view.updated_at = dt.datetime.now(dt.UTC)
        db.session.commit()
    except IntegrityError as err:
        db.session.rollback()
        raise _duplicate(name) from err
    except Exception:
        db.session.rollback()
        raise
    return view


def delete_view(user_id: int, view_id: int) -> str:
    """Delete one of the user's views; returns its name (rule: only the owner deletes)."""
    try:
        view = get_view(user_id, view_id)
        name = view.name
        db.session.delete(view)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return name
