"""The bell: a user's own notifications (newest first, mark read, links to the record) and their
e-mail preferences; for Admin, the templates per event type and the e-mail delivery log."""

from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_login import current_user

from app.core.actor import current_actor
from app.core.domain import DomainError
from app.notifications import events, queries, settings
from app.notifications import service as notifications


class NotificationsView(BaseView):
    route_base = "/notifications"
    default_view = "index"
    class_permission_name = "Notification"
    # Marking one's own notifications read or choosing one's own e-mails changes nothing anyone else
    # sees: it needs only read.
    method_permission_name = {
        "index": "read",
        "mark_read": "read",
        "mark_all_read": "read",
        "preferences": "read",
        "open": "read",
    }

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
            labels={code: e.label for code, e in events.CATALOGUE.items()},
        )

    @expose("/<int:notification_id>/open")
    @has_access
    def open(self, notification_id: int):
        """Follow the link to the record and count the notification as read."""
        item = notifications.own_notification(g.user.id, notification_id)
        if item is None or not item.record_url:
            abort(404)
        notifications.mark_read(g.user.id, [notification_id])
        return redirect(item.record_url)

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

    @expose("/preferences", methods=["GET", "POST"])
    @has_access
    def preferences(self):
        if request.method == "POST":
            try:
                settings.save_preferences(
                    g.user.id,
                    request.form.get("language", "en"),
                    set(request.form.getlist("email_event")),
                    request.form.get("email_enabled") == "on",
                )
                flash("Your notification preferences were saved.", "success")
                return redirect(url_for("NotificationsView.preferences"))
            except DomainError as exc:
                flash(exc.user_message, "danger")
        pref = notifications.preferences_for([g.user.id]).get(g.user.id)
        return self.render_template(
            "notifications/preferences.html",
            pref=pref,
            catalogue=queries.events_for_roles([r.name for r in g.user.roles]),
            wants=lambda code: notifications.wants_email(pref, code),
        )


class NotificationAdminView(BaseView):
    """Admin: the wording of every event type in English and Arabic, and the e-mail delivery log."""

    route_base = "/notifications/admin"
    default_view = "templates"
    class_permission_name = "NotificationAdmin"
    method_permission_name = {"templates": "read", "edit": "write", "deliveries": "read"}

    @expose("/templates")
    @has_access
    def templates(self):
        return self.render_template("notifications/templates.html", rows=queries.template_overview())

    @expose("/templates/<event_type>/<language>", methods=["GET", "POST"])
    @has_access
    def edit(self, event_type: str, language: str):
        ev = events.event(event_type)
        if ev is None or language not in events.LANGUAGES:
            abort(404)
        current = notifications.template_text(event_type)[language]
        subject, body, errors = current[0], current[1], {}
        if request.method == "POST":
            subject, body = request.form.get("subject", ""), request.form.get("body", "")
            try:
                settings.save_template(event_type, language, subject, body, current_actor())
                flash(f"Template {ev.label} ({language.upper()}) saved.", "success")
                return redirect(url_for("NotificationAdminView.templates"))
            except DomainError as exc:
                errors = (exc.details or {}).get("fields", {}) if isinstance(exc.details, dict) else {}
                flash(exc.user_message, "danger")
        return self.render_template(
            "notifications/template_edit.html",
            ev=ev,
            language=language,
            subject=subject,
            body=body,
            errors=errors,
            preview=events.render(body, {v: f"‹{v}›" for v in ev.variables}),
        )

    @expose("/deliveries")
    @has_access
    def deliveries(self):
        status = request.args.get("status") or None
        return self.render_template(
            "notifications/deliveries.html",
            rows=queries.delivery_log(status=status, limit=300),
            outbox=queries.outbox_counts(),
            status=status,
        )


def _bell() -> dict:
    """The unread count for the navbar bell on every page (None for anonymous users)."""
    if not current_user or not getattr(current_user, "is_authenticated", False):
        return {"rp_bell_unread": None}
    try:
        return {"rp_bell_unread": notifications.unread_count(current_user.id)}
    except Exception:  # a broken bell must never take a page down
        return {"rp_bell_unread": None}


def register(appbuilder) -> None:
    inbox = appbuilder.add_view(
        NotificationsView,
        "My notifications",
        icon="fa-bell",
        category="Notifications",
        category_icon="fa-bell",
    )
    appbuilder.add_link(
        "My e-mail preferences",
        href="/notifications/preferences",
        icon="fa-sliders",
        category="Notifications",
        baseview=inbox,
    )
    admin = appbuilder.add_view(
        NotificationAdminView, "Notification templates", icon="fa-file-text-o", category="Notifications"
    )
    appbuilder.add_link(
        "E-mail delivery log",
        href="/notifications/admin/deliveries",
        icon="fa-envelope-o",
        category="Notifications",
        baseview=admin,
    )
    from flask import current_app

    current_app.context_processor(_bell)
