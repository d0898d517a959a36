"""Core: extensions, errors (DomainError and its translation), tracing, web helpers, UI look map.

The bottom of the house: imports no other part."""

from __future__ import annotations


def register(appbuilder) -> None:
    """This part's menu entries, views and APIs."""
    from flask import current_app

    from app.core import ui

    ui.register_jinja(current_app)
    current_app.add_url_rule("/favicon.ico", "favicon", _favicon)


def _favicon():
    """Browsers ask for /favicon.ico on every page; answer with the logo instead of a logged 404."""
    from flask import current_app

    return current_app.send_static_file("img/logo.svg")
