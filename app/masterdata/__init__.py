"""Master data: nuclides, products, sites, hot cells, customers, suppliers, materials and lots; decay maths."""

from __future__ import annotations


def register(appbuilder) -> None:
    """This part's menu entries, views and APIs."""
    from app.masterdata import api, views

    views.register(appbuilder)
    api.register(appbuilder)
