"""Audit viewer (/audit): filter, read before/after, export CSV, check and re-verify the chain."""

from __future__ import annotations

import datetime as dt

from flask import Response, flash, redirect, request, stream_with_context, url_for
from flask_appbuilder import BaseView, expose, has_access

from app.audit import labels
from app.audit import queries as audit_query
from app.audit import service as audit
from app.core.actor import current_actor
from app.core.domain import DomainError
from app.core.web import site_tz

PAGE_SIZE = 50


class AuditView(BaseView):
    route_base = "/audit"
    default_view = "index"
    class_permission_name = "AuditLog"
    method_permission_name = {"index": "read", "export": "read", "verify": "verify"}

    @expose("/")
    @has_access
    def index(self):
        try:
            filters = audit_query.parse_filters(request.args)
        except DomainError as err:
            flash(err.user_message, "danger")
            filters = audit_query.AuditFilters()
        try:
            page = max(1, int(request.args.get("page", 1)))
        except ValueError:
            page = 1
        rows, total = audit_query.search(filters, site_tz(), page, PAGE_SIZE)
        pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
        return self.render_template(
            "audit/index.html",
            rows=rows,
            total=total,
            page=page,
            pages=pages,
            filters=filters,
            active=filters.active(),
            choices=audit_query.choices(),
            changes=audit_query.changes,
            show=audit_query.display_value,
            verification=audit_query.latest_verification(),
            names=labels.record_names(rows),
            entity_label=labels.entity_label,
            action_label=labels.action_label,
            field_label=labels.field_label,
            value_label=labels.value_label,
        )

    @expose("/export.csv")
    @has_access
    def export(self):
        filters = audit_query.parse_filters(request.args)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%MZ")
        return Response(
            stream_with_context(audit_query.export_csv(filters, site_tz())),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="audit-trail-{stamp}.csv"'},
        )

    @expose("/verify", methods=["POST"])
    @has_access
    def verify(self):
        result = audit.verify_and_log(f"{current_actor().printed_name} (audit viewer)")
        flash(result.message, "success" if result.ok else "danger")
        return redirect(request.referrer or url_for("AuditView.index"))


def register(appbuilder) -> None:
    appbuilder.add_view(
        AuditView, "Audit trail", icon="fa-shield-alt", category="Quality", category_icon="fa-check-circle"
    )
