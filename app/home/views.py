"""The landing page: where each role starts its day."""

from __future__ import annotations

from flask import g, redirect, url_for
from flask_appbuilder import IndexView, expose


class HomeView(IndexView):
    """Signed-in users go straight to their work; anonymous visitors to the login page."""

    @expose("/")
    def index(self):
        user = getattr(g, "user", None)
        if user is None or not user.is_authenticated:
            return redirect(url_for("AuthDBView.login"))
        return self.render_template("home/index.html")


def register(appbuilder) -> None:  # the index view is set through FAB_INDEX_VIEW
    return None
