"""The bell: a user's own notifications, newest first, with mark-as-read."""

from __future__ import annotations

from flask import g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access

from app.notifications import service as notifications


class NotificationsView(BaseView):
    route_base = "/notifications"
    default_view = "index"
    class_permission_name = "Notification"
    # Marking one's own notifications read changes nothing anyone else sees: it needs only read.
    method_permission_name = {"index": "read", "mark_read": "read", "mark_all_read": "read"}

    @expose("/")
    @has_access
    def index(self):
        unread_only = request.args.get("show") == "unread"
        items = notifications.list_for_user(g.user.id, limit=200, unread_only=unread_only)
        return self.render_template(
            "notifications/list.html",
            items=items,
            unread=notifications.unread_count(g.user.id),
            unread_only=unread_only,
        )

    @expose("/<int:notification_id>/read", methods=["POST"])
    @has_access
    def mark_read(self, notification_id: int):
        notifications.mark_read(g.user.id, [notification_id])
        return redirect(url_for("NotificationsView.index", show=request.args.get("show")))

    @expose("/read-all", methods=["POST"])
    @has_access
    def mark_all_read(self):
        notifications.mark_read(g.user.id)
        return redirect(url_for("NotificationsView.index"))


def register(appbuilder) -> None:
    appbuilder.add_view(NotificationsView, "Notifications", icon="fa-bell", label="Notifications")
