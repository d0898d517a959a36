"""My preferences: the unit a person reads and types activities in (MBq or mCi)."""

from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access

from app.core.domain import DomainError
from app.masterdata import preferences
from app.masterdata.domain.units import format_activity


class MyPreferencesView(BaseView):
    route_base = "/preferences"
    default_view = "index"
    # One's own display choices change nothing anyone else sees: guarded like the e-mail preferences
    # (every signed-in role, hospital users included, reads its own notifications).
    class_permission_name = "Notification"
    method_permission_name = {"index": "read"}

    @expose("/", methods=["GET", "POST"])
    @has_access
    def index(self):
        if request.method == "POST":
            try:
                preferences.save_activity_unit(g.user.id, request.form.get("activity_unit", ""))
                flash("Your preferences were saved.", "success")
                return redirect(url_for("MyPreferencesView.index"))
            except DomainError as exc:
                flash(exc.user_message, "danger")
        return self.render_template(
            "masterdata/preferences.html",
            unit=preferences.activity_unit(g.user.id),
            examples=[(format_activity(v, "MBq"), format_activity(v, "mCi")) for v in (370, 555, 18500)],
        )


def register(appbuilder) -> None:
    mine = appbuilder.add_view_no_menu(MyPreferencesView)
    appbuilder.add_link(
        "My preferences (units)",
        href="/preferences/",
        icon="fa-sliders",
        category="Notifications",
        baseview=mine,
    )
    from flask import current_app

    preferences.register_filters(current_app)
