"""Batch pages: the filterable list with KPI cards (/batches/) and the Batch Journey (/batches/<id>).

Adapters only: they read the request, ask the batch read services (`batch_queries`, the same
dicts as the API) and `batch_pages`, and render. Moves happen in `batch_actions` (POST with CSRF),
exports in `batch_exports`, saved views in `batch_saved_views`.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask import current_app, g, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from werkzeug.datastructures import MultiDict

from app.batches import extensions_hooks, queries, saved_views, urls
from app.batches import pages as batch_pages
from app.batches.filters import ListQuery, parse_list_args
from app.batches.models import Batch
from app.core.actor import current_actor
from app.core.domain import Forbidden, ValidationFailed
from app.core.extensions import db
from app.core.web import site_tz

TABS = (
    ("overview", "Overview", "stream"),
    ("orders", "Orders", "file-invoice"),
    ("dose-units", "Dose Units", "vials"),
    ("materials", "Materials / Genealogy", "sitemap"),
    ("qc", "QC", "microscope"),
    ("ebr", "Batch record", "list-ol"),
    ("release", "Release", "certificate"),
    ("logistics", "Logistics", "truck"),
    ("audit", "Audit", "shield-alt"),
)


def _may(permission: str, resource: str) -> bool:
    """Whether the signed-in user holds a permission (from the security manager's per-process
    permission cache: no query per check)."""
    return bool(current_app.appbuilder.sm.has_access(permission, resource))


def _override_on() -> bool:
    return bool(current_app.config.get("ALLOW_ADMIN_OVERRIDE"))


def _parse(pairs: urls.Pairs) -> tuple[ListQuery, urls.Pairs, str | None]:
    """The list query; invalid filters are dropped with a message instead of failing the page."""
    try:
        return parse_list_args(MultiDict(pairs)), pairs, None
    except ValidationFailed as err:
        bad = set((err.details or {}).get("fields", {}))
        kept = [(k, v) for k, v in pairs if k not in bad]
        message = f"{err.user_message} Those filters were left out."
        try:
            return parse_list_args(MultiDict(kept)), kept, message
        except ValidationFailed:
            return ListQuery(), [], message


def list_context(args: MultiDict) -> dict[str, Any]:
    actor = current_actor()
    query, pairs, problem = _parse(urls.filter_pairs(args))
    result = queries.list_batches(query, actor, count_cap=current_app.config.get("BATCH_LIST_COUNT_CAP"))
    metrics = queries.batch_metrics(actor)
    options = batch_pages.filter_options(actor)
    may_act = _may("can_transition", "Batch")
    actions = (
        batch_pages.row_actions(result["items"], actor, allow_admin_override=_override_on())
        if may_act
        else {}
    )
    dialogs = {item["id"]: _row_dialogs(item, actions.get(item["id"], [])) for item in result["items"]}
    today = dt.datetime.now(site_tz()).date()
    return {
        "result": result,
        "query": query,
        "pairs": pairs,
        "problem": problem,
        "chips": urls.chips(pairs, options),
        "cards": urls.kpi_cards(metrics, pairs, today),
        "metrics": metrics,
        "options": options,
        "row_dialogs": dialogs,
        "restricted": queries.viewer_for(actor).restricted,
        "sorts": {k: urls.sort_link(pairs, k) for k in ("planned_at", "status", "updated_at")},
        "paging": urls.page_links(
            pairs, query.page, query.page_size, result["total"], exact=result.get("total_exact", True)
        ),
        "saved": saved_views.list_views(g.user.id),
        "current_query": urls.list_url([(k, v) for k, v in pairs if k != "page"]).partition("?")[2],
        "urls": urls,
        "clear_url": urls.list_url([]),
    }


def _row_dialogs(item: dict[str, Any], actions: list[dict[str, Any]]) -> dict[str, Any]:
    """A row's quick actions: the forward step as a button, the others in the "more" menu."""
    dialogs = [batch_pages.dialog_payload(item, a) for a in actions]
    primary = next((d for d in dialogs if d["forward"]), None)
    return {"primary": primary, "others": [d for d in dialogs if d is not primary]}


class BatchPagesView(BaseView):
    route_base = "/batches"
    default_view = "index"
    class_permission_name = "Batch"
    method_permission_name = {"index": "read", "journey": "read", "audit_panel": "read"}

    @expose("/")
    @has_access
    def index(self):
        context = list_context(request.args)
        if request.headers.get("X-RP-Partial"):
            return self.render_template("batches/_results.html", **context)
        return self.render_template("batches/list.html", **context)

    @expose("/<int:batch_id>")
    @has_access
    def journey(self, batch_id: int):
        actor = current_actor()
        detail = queries.batch_detail(batch_id, actor)  # 404 unless this person may see the batch
        events = queries.batch_events(batch_id, actor, visible_checked=True)
        # Held for the whole render: the session's identity map keeps rows only while referenced, and
        # the QC summary and the expiry both read this batch (one SELECT instead of two).
        batch = db.session.get(Batch, batch_id)
        restricted = queries.viewer_for(actor).restricted
        may_audit = not restricted and _may("can_read", "AuditLog")
        tabs = [t for t in TABS if t[0] != "audit" or may_audit]
        tab = request.args.get("tab", "overview")
        if tab not in {t[0] for t in tabs}:
            tab = "overview"
        actions = batch_pages.actions_with_forward(detail["status"], detail["allowed_actions"])
        dialogs = [batch_pages.dialog_payload(detail, a) for a in actions]
        newest_first = request.args.get("order") == "newest"
        return self.render_template(
            "batches/journey.html",
            b=detail,
            events=list(reversed(events)) if newest_first else events,
            newest_first=newest_first,
            signatures=batch_pages.signatures_for(events),
            dialogs=dialogs,
            next_dialog=_next_dialog(detail, dialogs),
            tabs=tabs,
            tab=tab,
            restricted=restricted,
            internal=not restricted,
            may_export=_may("can_export", "Batch"),
            qc=batch_pages.qc_summary(batch_id) if tab in ("qc", "overview") and not restricted else None,
            qc_page_url=qc_page_url(batch_id),
            expiry=_expiry(batch),
            tab_data=extensions_hooks.tab_data(tab, batch_id, actor),
            json=json,
        )

    @expose("/<int:batch_id>/audit-panel")
    @has_access
    def audit_panel(self, batch_id: int):
        """The Audit tab's entries, loaded after the page (Admin and Auditor)."""
        actor = current_actor()
        queries.get_visible(batch_id, actor)
        if queries.viewer_for(actor).restricted or not _may("can_read", "AuditLog"):
            raise Forbidden("Only Admin and Auditor see a batch's audit trail.")
        from app.audit import queries as audit_query

        rows, total = batch_pages.audit_entries(batch_id)
        return self.render_template(
            "batches/_audit_panel.html",
            rows=rows,
            total=total,
            batch_id=batch_id,
            changes=audit_query.changes,
            show=audit_query.display_value,
        )


def _expiry(batch: Batch | None) -> dict[str, Any] | None:
    """When the batch's shelf life ends (UTC) and whether it has: an expired batch moves no further."""
    from app.batches import service
    from app.batches.domain import expiry

    at = service.batch_expires_at(batch) if batch is not None else None
    if at is None:
        return None
    return {"at": at, "expired": expiry.is_expired(at, dt.datetime.now(dt.UTC))}


def _next_dialog(detail: dict[str, Any], dialogs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The dialog of the "What's next" step, when this user may take it."""
    step = detail.get("next_step")
    if not step or not step.get("you_can"):
        return None
    return next((d for d in dialogs if d["to_status"] == step["to_status"]), None)


_QC_RULES = ("/batches/<int:batch_id>/qc", "/batches/<int:pk>/qc", "/batches/<int:id>/qc")


def qc_page_url(batch_id: int) -> str | None:
    """The QC module's batch page (/batches/<id>/qc) when it is installed and the user may open it."""
    cache = current_app.extensions.setdefault("rp_batch_pages", {})
    if "qc_rule" not in cache:
        cache["qc_rule"] = next(
            (r for r in current_app.url_map.iter_rules() if r.rule.rstrip("/") in _QC_RULES), None
        )
    rule = cache["qc_rule"]
    if rule is None or not _may_endpoint(rule.endpoint):
        return None
    return url_for(rule.endpoint, **{next(iter(rule.arguments)): batch_id})


def _may_endpoint(endpoint: str) -> bool:
    view = getattr(current_app.view_functions.get(endpoint), "__self__", None)
    resource = getattr(view, "class_permission_name", None)
    if not resource:
        return True
    name = endpoint.rsplit(".", 1)[-1]
    perm = (getattr(view, "method_permission_name", None) or {}).get(name, name)
    return _may(f"can_{perm}", resource)


def register(appbuilder) -> None:
    from app.batches import views_actions as batch_actions
    from app.batches import views_exports as batch_exports
    from app.batches import views_saved as batch_saved_views

    # "Batches" is a menu category (the state-machine page of the lifecycle lives there too): FAB
    # turns a top-level item into a dropdown as soon as another view names it as its category.
    appbuilder.add_view(
        BatchPagesView, "All batches", icon="fa-list", category="Batches", category_icon="fa-flask"
    )
    batch_actions.register(appbuilder)
    batch_exports.register(appbuilder)
    batch_saved_views.register(appbuilder)
