"""eBR pages: the master batch records per product (draft, e-signed activation) and the execution of
a batch's steps from its page (the journey's "Batch record" tab posts here)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import select

from app.batches import ebr, queries
from app.batches.ebr_models import EbrMaster
from app.core.actor import current_actor
from app.core.domain import DomainError
from app.core.extensions import db
from app.masterdata.models import Product
from app.masterdata.preferences import current_activity_unit

STEP_FIELDS = ("title", "instruction", "value_label", "unit", "expected_value", "lower_limit", "upper_limit")


def _steps_from_form(form: Any) -> list[ebr.StepInput]:
    steps = []
    titles = form.getlist("title")
    for i, title in enumerate(titles):
        if not title.strip():
            continue
        values: dict[str, Any] = {
            f: (form.getlist(f)[i] if i < len(form.getlist(f)) else "") for f in STEP_FIELDS
        }
        steps.append(ebr.StepInput(**values, is_yield=str(i) in form.getlist("is_yield")))
    return steps


class EbrView(BaseView):
    route_base = "/ebr"
    default_view = "index"
    class_permission_name = "Ebr"
    method_permission_name = {"index": "read", "create": "write", "activate": "activate", "record": "execute"}

    @expose("/")
    @has_access
    def index(self):
        products = db.session.execute(select(Product).order_by(Product.code)).scalars().all()
        masters = (
            db.session.execute(select(EbrMaster).order_by(EbrMaster.product_id, EbrMaster.version.desc()))
            .scalars()
            .all()
        )
        by_product: dict[int, list[EbrMaster]] = {}
        for m in masters:
            by_product.setdefault(m.product_id, []).append(m)
        return self.render_template(
            "batches/ebr_masters.html", products=products, by_product=by_product, limits=ebr.limits_text
        )

    @expose("/new", methods=["POST"])
    @has_access
    def create(self):
        try:
            master = ebr.create_draft(
                int(request.form.get("product_id") or 0),
                request.form.get("record_title", ""),
                _steps_from_form(request.form),
                current_actor(),
            )
            flash(f"Draft version {master.version} saved. Activate it with your signature.", "success")
        except DomainError as exc:
            flash(exc.user_message, "danger")
        return redirect(url_for("EbrView.index"))

    @expose("/<int:master_id>/activate", methods=["POST"])
    @has_access
    def activate(self, master_id: int):
        try:
            m = ebr.activate(master_id, request.form.get("password"), current_actor())
            flash(f"Version {m.version} is active: new batches of this product get it.", "success")
        except DomainError as exc:
            flash(exc.user_message, "danger")
        return redirect(url_for("EbrView.index"))

    @expose("/batch/<int:batch_id>/step/<int:step_id>", methods=["POST"])
    @has_access
    def record(self, batch_id: int, step_id: int):
        actor = current_actor()
        queries.get_visible(batch_id, actor)  # 404 for batches the user may not see
        try:
            step = ebr.record_step(
                batch_id,
                step_id,
                actor,
                value=request.form.get("value"),
                note=request.form.get("note"),
                skip=request.form.get("skip") == "1",
                reason=request.form.get("reason"),
                value_unit=request.form.get("value_unit") or None,  # an activity typed in the person's unit
                reader_unit=current_activity_unit(),
            )
            msg = f"Step {step.seq} recorded."
            if step.out_of_limits:
                msg += " It is out of limits: a deviation is open on the batch."
            flash(msg, "warning" if step.out_of_limits else "success")
        except DomainError as exc:
            flash(exc.user_message, "danger")
        return redirect(url_for("BatchPagesView.journey", batch_id=batch_id, tab="ebr") + "#tabs")


def tab_data(batch_id: int, actor: Any) -> dict[str, Any]:
    """The journey's Batch record tab: the executed steps and planned vs actual yield; a step in an
    activity unit is shown and typed in the signed-in person's unit (MBq or mCi)."""
    from app.batches.models import Batch

    batch = db.session.get(Batch, batch_id)
    steps = ebr.batch_steps(batch_id)
    unit = current_activity_unit()
    return {
        "steps": steps,
        "yield": ebr.planned_vs_actual(batch) if batch is not None else None,
        "may_execute": actor.has_role(*ebr.EXECUTORS),
        "open": batch is not None and batch.status in ebr.EXECUTABLE_STATES,
        "limits": lambda step: ebr.step_limits_text(step, unit),
        "value": lambda value, step: ebr.value_text(value, step, unit),
        "entry_units": lambda step: ebr.entry_units(step, unit),
    }


def register(appbuilder) -> None:
    from app.batches import extensions_hooks, hooks

    appbuilder.add_view(EbrView, "Master batch records", icon="fa-list-ol", category="QC")
    hooks.register_batch_created(ebr.snapshot_onto_batch)
    extensions_hooks.register_tab_provider("ebr", tab_data)
    from flask import current_app

    # The batch record PDF (templates/batches/log_pdf.html) prints the executed steps.
    current_app.jinja_env.globals.update(ebr_steps_for=ebr.batch_steps, ebr_limits=ebr.limits_text)
