"""The landing page: each role's first screen is its work (app/home/sections.py)."""

from __future__ import annotations

from flask import g, redirect, url_for
from flask_appbuilder import IndexView, expose

from app.core.actor import current_actor


class HomeView(IndexView):
    """Signed-in users see their work; anonymous visitors go to the login page."""

    @expose("/")
    def index(self):
        user = getattr(g, "user", None)
        if user is None or not user.is_authenticated:
            return redirect(url_for("AuthDBView.login"))
        from app.home.sections import sections_for

        actor = current_actor()
        return self.render_template("home/index.html", sections=sections_for(actor), actor=actor)


def register(appbuilder) -> None:  # the index view is set through FAB_INDEX_VIEW
    return None
