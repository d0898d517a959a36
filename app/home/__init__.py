"""Home: the first page after sign-in (composes the other parts; sits at the top)."""

from __future__ import annotations


def register(appbuilder) -> None:
    """This part's menu entries, views and APIs."""
    from app.home import views

    views.register(appbuilder)
