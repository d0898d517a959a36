"""Master data: nuclides, products, sites, hot cells, customers, suppliers, materials and lots; decay maths."""

from __future__ import annotations


def register(appbuilder) -> None:
    """This part's menu entries, views and APIs."""
    from app.masterdata import api, views

    views.register(appbuilder)
    api.register(appbuilder)
    from app.masterdata import views_preferences

    views_preferences.register(appbuilder)
    from app.masterdata import audit_names

    audit_names.register()
    from app.notifications.service import register_customer_users

    register_customer_users(customer_user_ids)  # notifications sit below us: they ask through this hook


def customer_user_ids(customer_id: int) -> list[int]:
    """The user accounts of one hospital (what a customer-facing notification reaches)."""
    from sqlalchemy import select

    from app.core.extensions import db
    from app.masterdata.models import CustomerUser

    query = select(CustomerUser.user_id).where(CustomerUser.customer_id == customer_id)
    return [int(u) for u in db.session.execute(query).scalars()]
