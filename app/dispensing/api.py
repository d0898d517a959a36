"""Dispensing API (FAB BaseApi; permissions on DoseUnit and BatchMaterial).

POST /api/v1/batches/<id>/material-lots          record a lot used by the batch      can_record on BatchMaterial
GET  /api/v1/batches/<id>/dose-units             the batch's dose units              can_read on DoseUnit
POST /api/v1/batches/<id>/dose-units             plan dose units from order lines    can_dispense on DoseUnit
POST /api/v1/batches/<id>/dispensing-complete    mark the batch dispensed            can_dispense on DoseUnit
GET  /api/v1/dose-units/<id>                     one dose unit                       can_read on DoseUnit
POST /api/v1/dose-units/<id>/dispense            calibrator reading                  can_dispense on DoseUnit
POST /api/v1/dose-units/<id>/cancel              cancel with a reason                can_dispense on DoseUnit
GET  /api/v1/dose-units/<id>/label.zpl|label.pdf the label                           can_read on DoseUnit
GET  /api/v1/batches/<id>/labels.pdf             one sheet, every dispensed dose     can_label on DoseUnit

A hospital user sees only its own hospital's doses (404 otherwise). Errors: {code,userMessage,traceId}.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask import Response, request
from flask_appbuilder.api import BaseApi, expose
from flask_appbuilder.security.decorators import protect
from sqlalchemy import select

from app.batches.api import json_response
from app.batches.queries import get_visible
from app.core.actor import current_actor
from app.core.api_errors import ApiErrorsMixin
from app.core.domain import ValidationFailed
from app.core.extensions import db
from app.dispensing import label_print, materials, queries, service
from app.dispensing.access import customer_scope
from app.dispensing.models import DoseUnit

MAX_BODY = 64_000


def body() -> dict[str, Any]:
    if (request.content_length or 0) > MAX_BODY:
        from app.core.domain import DomainError

        raise DomainError("TOO_LARGE", "The request is too large.", 413)
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationFailed("Send a JSON object.", {"body": ["Not a JSON object."]})
    return data


def whole(data: dict[str, Any], name: str, required: bool = True) -> int | None:
    raw = data.get(name)
    if raw is None and not required:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1 or raw > 2**31:
        raise ValidationFailed(f"{name} must be a whole number.", {name: ["Not a whole number."]})
    return raw


def ids(data: dict[str, Any], name: str) -> list[int] | None:
    raw = data.get(name)
    if raw is None:
        return None
    if (
        not isinstance(raw, list)
        or len(raw) > 500
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in raw)
    ):
        raise ValidationFailed(f"{name} must be a list of at most 500 ids.", {name: ["Not a list of ids."]})
    return raw


def one_dose(dose: DoseUnit) -> dict[str, Any]:
    actor = current_actor()
    batch = get_visible(dose.batch_id, actor)
    return queries.dose_dict(
        dose,
        batch,
        dt.datetime.now(dt.UTC),
        internal=customer_scope(actor) is None,
        reference=dose.order.hospital_order_reference,
    )


class BatchDispensingApi(ApiErrorsMixin, BaseApi):
    route_base = "/api/v1/batches"
    resource_name = "batch-dispensing"
    class_permission_name = "DoseUnit"
    method_permission_name = {
        "get_doses": "read",
        "post_doses": "dispense",
        "post_complete": "dispense",
        "get_labels": "label",
    }
    openapi_spec_tag = "Dispensing"

    @expose("/<int:batch_id>/dose-units", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_doses(self, batch_id: int):
        """The batch's dose units with activity and volume to draw now, and the vial balance.
        ---
        get:
          parameters:
          - {in: path, name: batch_id, required: true, schema: {type: integer}}
          responses: {200: {description: dose units}, 404: {description: not found}}
        """
        return json_response(200, queries.doses_of_batch(batch_id, current_actor()))

    @expose("/<int:batch_id>/dose-units", methods=["POST"])
    @protect()
    def post_doses(self, batch_id: int):
        """Plan dose units: {"order_line_id": n} or {"order_line_ids": [..]}, or {} for every line.
        ---
        post:
          parameters:
          - {in: path, name: batch_id, required: true, schema: {type: integer}}
          requestBody: {content: {application/json: {schema: {type: object}}}}
          responses: {201: {description: created}, 409: {description: refused}}
        """
        data = body()
        line_ids = ids(data, "order_line_ids")
        single = whole(data, "order_line_id", required=False)
        if single is not None:
            line_ids = [single]
        get_visible(batch_id, current_actor())
        created = service.create_dose_units(batch_id, current_actor(), line_ids)
        return json_response(201, {"dose_units": [one_dose(d) for d in created]})

    @expose("/<int:batch_id>/dispensing-complete", methods=["POST"])
    @protect()
    def post_complete(self, batch_id: int):
        """Mark the batch dispensed (every dose dispensed or cancelled with a reason).
        ---
        post:
          parameters:
          - {in: path, name: batch_id, required: true, schema: {type: integer}}
          responses: {200: {description: done}, 409: {description: doses outstanding}}
        """
        batch = service.complete_dispensing(batch_id, current_actor())
        return json_response(200, {"batch_id": batch.id, "status": batch.status})

    @expose("/<int:batch_id>/labels.pdf", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_labels(self, batch_id: int):
        """One PDF sheet with the labels of every dispensed dose of the batch.
        ---
        get:
          parameters:
          - {in: path, name: batch_id, required: true, schema: {type: integer}}
          responses: {200: {description: PDF}}
        """
        batch = get_visible(batch_id, current_actor())
        doses = list(
            db.session.execute(
                select(DoseUnit)
                .where(
                    DoseUnit.batch_id == batch.id,
                    DoseUnit.label_data.isnot(None),
                    DoseUnit.status != "CANCELLED",
                )
                .order_by(DoseUnit.id)
            ).scalars()
        )
        pdf = label_print.pdf(doses)
        return Response(
            pdf,
            mimetype="application/pdf",
            headers={"Content-Disposition": f'inline; filename="labels-{batch.batch_no}.pdf"'},
        )


class BatchMaterialLotApi(ApiErrorsMixin, BaseApi):
    route_base = "/api/v1/batches"
    resource_name = "batch-materials"
    class_permission_name = "BatchMaterial"
    method_permission_name = {"post_lot": "record"}
    openapi_spec_tag = "Dispensing"

    @expose("/<int:batch_id>/material-lots", methods=["POST"])
    @protect()
    def post_lot(self, batch_id: int):
        """Record a material lot used by the batch: {"lot_id", "quantity", "note"}.
        ---
        post:
          parameters:
          - {in: path, name: batch_id, required: true, schema: {type: integer}}
          requestBody: {content: {application/json: {schema: {type: object}}}}
          responses: {201: {description: recorded}, 409: {description: lot expired or not released}}
        """
        data = body()
        lot_id = whole(data, "lot_id")
        note = data.get("note")
        if note is not None and not isinstance(note, str):
            raise ValidationFailed("note must be text.", {"note": ["Not text."]})
        get_visible(batch_id, current_actor())
        row = materials.record_material_lot(
            batch_id, lot_id or 0, data.get("quantity"), current_actor(), note=note
        )
        return json_response(
            201,
            {
                "id": row.id,
                "batch_id": row.batch_id,
                "lot_id": row.lot_id,
                "quantity": row.quantity,
                "unit": row.unit,
                "recorded_at": row.recorded_at,
            },
        )


class DoseUnitApi(ApiErrorsMixin, BaseApi):
    route_base = "/api/v1/dose-units"
    resource_name = "dose-units"
    class_permission_name = "DoseUnit"
    method_permission_name = {
        "get_one": "read",
        "post_dispense": "dispense",
        "post_cancel": "dispense",
        "get_zpl": "read",
        "get_pdf": "read",
    }
    openapi_spec_tag = "Dispensing"

    @expose("/<int:dose_id>", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_one(self, dose_id: int):
        """One dose unit.
        ---
        get:
          parameters:
          - {in: path, name: dose_id, required: true, schema: {type: integer}}
          responses: {200: {description: the dose unit}, 404: {description: not found}}
        """
        return json_response(200, one_dose(queries.visible_dose(dose_id, current_actor())))

    @expose("/<int:dose_id>/dispense", methods=["POST"])
    @protect()
    def post_dispense(self, dose_id: int):
        """Dispense with the calibrator reading: {"measured_activity_mbq", "note"} (or "measured_activity_mci").
        ---
        post:
          parameters:
          - {in: path, name: dose_id, required: true, schema: {type: integer}}
          requestBody: {content: {application/json: {schema: {type: object}}}}
          responses: {200: {description: dispensed}, 409: {description: refused}, 422: {description: invalid}}
        """
        from app.masterdata.domain.units import mci_to_mbq

        data = body()
        note = data.get("note")
        if note is not None and not isinstance(note, str):
            raise ValidationFailed("note must be text.", {"note": ["Not text."]})
        measured = data.get("measured_activity_mbq")
        if measured is None and data.get("measured_activity_mci") is not None:
            try:
                exact = mci_to_mbq(str(data["measured_activity_mci"]))
                measured = Decimal(exact.numerator) / Decimal(exact.denominator)
            except Exception as err:
                raise ValidationFailed(
                    "measured_activity_mci must be a number.", {"measured_activity_mci": ["Not a number."]}
                ) from err
        queries.visible_dose(dose_id, current_actor())
        dose = service.dispense_dose(dose_id, measured, current_actor(), note=note)
        return json_response(200, one_dose(dose))

    @expose("/<int:dose_id>/cancel", methods=["POST"])
    @protect()
    def post_cancel(self, dose_id: int):
        """Cancel a planned dose: {"reason"}.
        ---
        post:
          parameters:
          - {in: path, name: dose_id, required: true, schema: {type: integer}}
          requestBody: {content: {application/json: {schema: {type: object}}}}
          responses: {200: {description: cancelled}, 409: {description: refused}}
        """
        data = body()
        reason = data.get("reason")
        if reason is not None and not isinstance(reason, str):
            raise ValidationFailed("reason must be text.", {"reason": ["Not text."]})
        queries.visible_dose(dose_id, current_actor())
        return json_response(200, one_dose(service.cancel_dose(dose_id, reason, current_actor())))

    @expose("/<int:dose_id>/label.zpl", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_zpl(self, dose_id: int):
        """The dose label as ZPL II.
        ---
        get:
          parameters:
          - {in: path, name: dose_id, required: true, schema: {type: integer}}
          responses: {200: {description: ZPL}}
        """
        dose = queries.visible_dose(dose_id, current_actor())
        return Response(
            label_print.zpl(dose),
            mimetype="application/vnd.zebra.zpl",
            headers={"Content-Disposition": f'attachment; filename="DU-{dose.id:06d}.zpl"'},
        )

    @expose("/<int:dose_id>/label.pdf", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_pdf(self, dose_id: int):
        """The dose label as PDF.
        ---
        get:
          parameters:
          - {in: path, name: dose_id, required: true, schema: {type: integer}}
          responses: {200: {description: PDF}}
        """
        dose = queries.visible_dose(dose_id, current_actor())
        return Response(
            label_print.pdf([dose]),
            mimetype="application/pdf",
            headers={"Content-Disposition": f'inline; filename="DU-{dose.id:06d}.pdf"'},
        )


def register(appbuilder) -> None:
    for api in (BatchDispensingApi, BatchMaterialLotApi, DoseUnitApi):
        appbuilder.add_api(api)
