"""Release: QP disposition with e-signature, segregation of duties, release rights, CoA."""

from __future__ import annotations


def register(appbuilder) -> None:
    """This part's menu entries, views and APIs."""
    from app.release import api, views

    views.register(appbuilder)
    api.register(appbuilder)
