"""Core: extensions, errors (DomainError and its translation), tracing, web helpers, UI look map.

The bottom of the house: imports no other part."""

from __future__ import annotations


def register(appbuilder) -> None:
    """This part's menu entries, views and APIs."""
    from flask import current_app

    from app.core import ui

    ui.register_jinja(current_app)
