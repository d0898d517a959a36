"""Orders: hospital orders with pseudonymous references, the validation queue, order lines.

The pure rules (status machine as data, reference checks, validation checklist, the planner's
activity arithmetic) live in `domain.py`.
"""

from __future__ import annotations


def register(appbuilder) -> None:
    """This part's menu entries, pages and APIs."""
    from app.orders import api, views

    api.register(appbuilder)
    views.register(appbuilder)
