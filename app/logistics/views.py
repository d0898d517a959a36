"""Logistics pages: shipments (plan, pack, dispatch, deliver, cancel), the hospital's delivery
confirmation, the genealogy page with CSV/PDF export, the recall view. Forms post with CSRF to these
views, which call one service function each; refusals come back as flash messages (userMessage)."""

from __future__ import annotations

import datetime as dt

from flask import Response, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from sqlalchemy import select

from app.core.actor import current_actor
from app.core.domain import ValidationFailed
from app.core.exports import csv_text
from app.core.extensions import db
from app.core.web import parse_local
from app.dispensing.access import customer_scope
from app.genealogy import queries as genealogy
from app.logistics import documents, queries, service
from app.masterdata.models import Customer


def _ids(values: list[str]) -> list[int]:
    try:
        return [int(v) for v in values if v.strip()][:500]
    except ValueError as err:
        raise ValidationFailed("Choose dose units from the list.", {"dose_unit_ids": "Not ids."}) from err


class ShipmentsView(BaseView):
    route_base = "/logistics/shipments"
    class_permission_name = "Shipment"
    method_permission_name = {
        "index": "read",
        "detail": "read",
        "create": "pack",
        "pack": "pack",
        "dispatch": "dispatch",
        "deliver": "deliver",
        "cancel": "cancel",
    }
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        actor = current_actor()
        own = customer_scope(actor)
        customers = (
            []
            if own is not None
            else list(
                db.session.execute(
                    select(Customer).where(Customer.active.is_(True)).order_by(Customer.name)
                ).scalars()
            )
        )
        return self.render_template(
            "logistics/shipments.html",
            shipments=queries.list_shipments(actor),
            customers=customers,
            hospital=own is not None,
        )

    @expose("/<int:shipment_id>")
    @has_access
    def detail(self, shipment_id: int):
        actor = current_actor()
        own = customer_scope(actor)
        s = queries.visible_shipment(shipment_id, actor)
        detail = queries.shipment_dict(s, internal=own is None, with_detail=True)
        packable = (
            queries.packable_doses(s.customer_id) if own is None and s.status in ("PLANNED", "PACKED") else []
        )
        return self.render_template(
            "logistics/shipment.html", s=detail, packable=packable, hospital=own is not None
        )

    def _to(self, shipment_id: int):
        return redirect(url_for("ShipmentsView.detail", shipment_id=shipment_id))

    @expose("/new", methods=["POST"])
    @has_access
    def create(self):
        form = request.form
        try:
            customer_id = int(form.get("customer_id", ""))
        except ValueError as err:
            raise ValidationFailed("Choose the hospital.", {"customer_id": "Required."}) from err
        departure = (
            parse_local(form.get("planned_departure_at"), "planned_departure_at")
            if form.get("planned_departure_at")
            else None
        )
        s = service.create_shipment(
            customer_id, current_actor(), courier=form.get("courier"), planned_departure_at=departure
        )
        flash(f"Shipment {s.shipment_no} planned.", "success")
        return self._to(s.id)

    @expose("/<int:shipment_id>/pack", methods=["POST"])
    @has_access
    def pack(self, shipment_id: int):
        form = request.form
        service.pack_package(
            shipment_id,
            _ids(form.getlist("dose_unit_ids")),
            form.get("surface_dose_rate_msv_h"),
            form.get("dose_rate_1m_msv_h"),
            current_actor(),
        )
        flash("Package packed and sealed.", "success")
        return self._to(shipment_id)

    @expose("/<int:shipment_id>/dispatch", methods=["POST"])
    @has_access
    def dispatch(self, shipment_id: int):
        service.dispatch_shipment(shipment_id, current_actor(), note=request.form.get("note"))
        flash("Shipment handed to the courier.", "success")
        return self._to(shipment_id)

    @expose("/<int:shipment_id>/deliver", methods=["POST"])
    @has_access
    def deliver(self, shipment_id: int):
        service.deliver_shipment(
            shipment_id,
            current_actor(),
            received_by=request.form.get("received_by"),
            note=request.form.get("note"),
        )
        flash("Delivery confirmed.", "success")
        return self._to(shipment_id)

    @expose("/<int:shipment_id>/cancel", methods=["POST"])
    @has_access
    def cancel(self, shipment_id: int):
        service.cancel_shipment(shipment_id, request.form.get("reason"), current_actor())
        flash("Shipment cancelled; its doses can be packed again.", "success")
        return self._to(shipment_id)


class GenealogyView(BaseView):
    route_base = "/logistics/genealogy"
    class_permission_name = "Genealogy"
    method_permission_name = {"index": "read", "export_csv": "read", "export_pdf": "read"}
    default_view = "index"

    def _tree(self):
        if not request.args.get("start"):
            return None
        return queries.genealogy_tree(
            genealogy.parse_start(request.args.get("start")),
            genealogy.parse_direction(request.args.get("direction")),
        )

    @expose("/")
    @has_access
    def index(self):
        page = None
        if request.args.get("start"):
            page = queries.genealogy_page(
                genealogy.parse_start(request.args.get("start")),
                genealogy.parse_direction(request.args.get("direction")),
            )
        return self.render_template(
            "logistics/genealogy.html",
            tree=page,
            start=request.args.get("start", ""),
            direction=request.args.get("direction", "forward"),
        )

    @expose("/export.csv")
    @has_access
    def export_csv(self):
        tree = self._tree()
        if tree is None:
            raise ValidationFailed("Choose where the genealogy starts.", {"start": "Required."})
        names = {n["key"]: f"{n['label']} {n.get('detail') or ''}".strip() for n in tree["nodes"]}
        rows = [
            [
                e["direction"],
                e["depth"],
                names[e["parent"]],
                names[e["child"]],
                e["event"],
                e["quantity"],
                e["unit"],
                e["at"].astimezone(dt.UTC).isoformat(),
                e["by"],
            ]
            for e in tree["edges"]
        ]
        text = csv_text(
            ["direction", "depth", "from", "to", "event", "quantity", "unit", "at_utc", "by"], rows
        )
        return Response(
            text, mimetype="text/csv", headers={"Content-Disposition": 'attachment; filename="genealogy.csv"'}
        )

    @expose("/export.pdf")
    @has_access
    def export_pdf(self):
        tree = self._tree()
        if tree is None:
            raise ValidationFailed("Choose where the genealogy starts.", {"start": "Required."})
        return Response(
            documents.genealogy_pdf(tree),
            mimetype="application/pdf",
            headers={"Content-Disposition": 'attachment; filename="genealogy.pdf"'},
        )


class RecallView(BaseView):
    route_base = "/logistics/recalls"
    class_permission_name = "Recall"
    method_permission_name = {"detail": "read"}

    @expose("/<int:recall_id>")
    @has_access
    def detail(self, recall_id: int):
        return self.render_template("logistics/recall.html", r=queries.recall_dict(recall_id))


def register(appbuilder) -> None:
    appbuilder.add_view(ShipmentsView, "Shipments", icon="fa-truck", category="Batches")
    appbuilder.add_view(GenealogyView, "Genealogy", icon="fa-sitemap", category="Batches")
    appbuilder.add_view_no_menu(RecallView)
