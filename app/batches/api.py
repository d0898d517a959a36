"""Batch API under /api/v1/batches (FAB BaseApi; permissions `can_<act> on Batch`).

GET    /api/v1/batches                      list with filters, sort, paging       can_read
POST   /api/v1/batches                      plan a batch                          can_create
GET    /api/v1/batches/metrics              KPI cards                             can_read
GET    /api/v1/batches/<id>                 batch + journey fields                can_read
GET    /api/v1/batches/<id>/events          timeline                              can_read
GET    /api/v1/batches/<id>/events.csv      timeline as CSV                       can_export
POST   /api/v1/batches/<id>/transition      move the batch                        can_transition
POST   /api/v1/batches/<id>/deviations      open a deviation                      can_open_deviation
POST   /api/v1/batches/<id>/deviations/<d>/close   close it                       can_close_deviation

Reads also accept the browser session (the pages call them); anything that changes state needs the
bearer token. Handlers parse input and call one service function; DomainError becomes the JSON
error {"code","userMessage","traceId"} through the app's error handler.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask import Response, request
from flask_appbuilder.api import BaseApi, expose
from flask_appbuilder.security.decorators import protect

from app.batches import queries, service
from app.batches.filters import parse_list_args
from app.core.actor import current_actor
from app.core.api_errors import ApiErrorsMixin
from app.core.domain import ValidationFailed
from app.core.exports import csv_text
from app.core.extensions import db
from app.core.jsonout import dumps, iso_utc, json_response
from app.core.lengths import text_input
from app.core.readonly import reads_only


def _json_default(value: Any) -> Any:
    """Times as ISO 8601 UTC ("...Z") for CSV cells; the JSON answers use app.core.jsonout."""
    if isinstance(value, dt.datetime):
        return iso_utc(value)
    raise TypeError(f"not a time: {type(value).__name__}")


def to_json(value: Any) -> Any:
    """A JSON-ready copy of a service dict, for callers that answer through FAB's `self.response`."""
    return json.loads(dumps(value))


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationFailed("Send a JSON object.", {"body": ["Not a JSON object."]})
    return data


def _datetime(data: dict[str, Any], name: str, required: bool = True) -> dt.datetime | None:
    raw = data.get(name)
    if raw in (None, ""):
        if required:
            raise ValidationFailed(f"{name} is required.", {name: ["Required."]})
        return None
    try:
        return dt.datetime.fromisoformat(str(raw))
    except ValueError as err:
        raise ValidationFailed(
            f"{name} is not an ISO 8601 date and time.", {name: ["Not a date and time."]}
        ) from err


def _optional_int(data: dict[str, Any], name: str) -> int | None:
    raw = data.get(name)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= 2**31 - 1:
        raise ValidationFailed(
            f"{name} must be a whole number from 0 to {2**31 - 1}.", {name: ["Not a whole number in range."]}
        )
    return raw


def _optional_number(data: dict[str, Any], name: str) -> float | int | None:
    raw = data.get(name)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not 0 <= raw <= 1e12:
        raise ValidationFailed(f"{name} must be a number from 0 to 1e12.", {name: ["Not a number in range."]})
    return raw


def _flag(data: dict[str, Any], name: str) -> bool:
    raw = data.get(name, False)
    if not isinstance(raw, bool):
        raise ValidationFailed(f"{name} must be true or false.", {name: ["Not a boolean."]})
    return raw


class BatchApi(ApiErrorsMixin, BaseApi):
    resource_name = "batches"
    class_permission_name = "Batch"
    method_permission_name = {
        "get_list": "read",
        "get_metrics": "read",
        "get_one": "read",
        "get_events": "read",
        "export_events": "export",
        "post_create": "create",
        "post_transition": "transition",
        "post_deviation": "open_deviation",
        "post_close_deviation": "close_deviation",
    }
    openapi_spec_tag = "Batches"

    @expose("", methods=["GET"])
    @expose("/", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_list(self):
        """Batches matching the filters (see app/batches/filters.py for every parameter)."""
        reads_only(db)
        query = parse_list_args(request.args)
        return json_response(200, queries.list_batches(query, current_actor()))

    @expose("/metrics", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_metrics(self):
        """KPI cards: today, awaiting QC / QP release, exceptions, release lead time, utilisation."""
        return json_response(200, queries.batch_metrics(current_actor()))

    @expose("/<int:pk>", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_one(self, pk: int):
        """The batch with milestones, next step, allowed actions and linked counts."""
        reads_only(db)
        return json_response(200, queries.batch_detail(pk, current_actor()))

    @expose("/<int:pk>/events", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_events(self, pk: int):
        """The batch's timeline, oldest first (metadata for internal roles only)."""
        reads_only(db)
        return Response(
            queries.batch_events_answer(pk, current_actor()), status=200, mimetype="application/json"
        )

    @expose("/<int:pk>/events.csv", methods=["GET"])
    @protect(allow_browser_login=True)
    def export_events(self, pk: int):
        """The timeline as CSV (UTC times)."""
        actor = current_actor()
        batch = queries.get_visible(pk, actor)
        internal = not queries.viewer_for(actor).restricted
        header = [
            "occurred_at_utc",
            "title",
            "from_status",
            "to_status",
            "actor",
            "role",
            "note",
            "override",
            "signature_id",
        ] + (["metadata"] if internal else [])
        rows = [
            [
                _json_default(e["occurred_at"]),
                e["title"],
                e["from_status"] or "",
                e["to_status"] or "",
                e["actor"]["name"],
                e["actor"]["role"],
                e["note"] or "",
                e["is_override"],
                e["signature_id"] or "",
            ]
            + ([json.dumps(e["metadata"]) if e["metadata"] else ""] if internal else [])
            for e in queries.batch_events(pk, actor)
        ]
        return Response(
            csv_text(header, rows),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{batch.batch_no}-events.csv"'},
        )

    @expose("", methods=["POST"])
    @expose("/", methods=["POST"])
    @protect()
    def post_create(self):
        """Plan a batch: {product_code, planned_start_at, planned_end_at, site_code?, hot_cell_code?,
        planned_activity_mbq?, customer_codes?, note?} -> 201 with the batch."""
        data = _body()
        customers = data.get("customer_codes") or []
        if not isinstance(customers, list) or not all(isinstance(c, str) for c in customers):
            raise ValidationFailed(
                "customer_codes must be a list of codes.", {"customer_codes": ["Not a list."]}
            )
        product_code = data.get("product_code")
        if not isinstance(product_code, str) or not product_code.strip():
            raise ValidationFailed("product_code is required.", {"product_code": ["Required."]})
        actor = current_actor()
        batch = service.create_batch(
            product_code.strip(),
            _datetime(data, "planned_start_at"),
            _datetime(data, "planned_end_at"),
            actor=actor,
            site_code=text_input(data.get("site_code"), "site_code"),
            hot_cell_code=text_input(data.get("hot_cell_code"), "hot_cell_code"),
            planned_activity_mbq=_optional_number(data, "planned_activity_mbq"),
            customer_codes=tuple(customers),
            note=text_input(data.get("note"), "note"),
        )
        return json_response(201, queries.batch_detail(batch.id, actor))

    @expose("/<int:pk>/transition", methods=["POST"])
    @protect()
    def post_transition(self, pk: int):
        """Move the batch: {to_status, note?, metadata?, version?, override?, signature_id?}."""
        data = _body()
        to_status = data.get("to_status")
        if not isinstance(to_status, str) or not to_status:
            raise ValidationFailed("to_status is required.", {"to_status": ["Required."]})
        actor = current_actor()
        queries.get_visible(pk, actor)
        service.transition_batch(
            pk,
            to_status.strip().upper(),
            actor,
            text_input(data.get("note"), "note"),
            data.get("metadata"),
            signature_id=_optional_int(data, "signature_id"),
            override=_flag(data, "override"),
            expected_version=_optional_int(data, "version"),
        )
        return json_response(200, queries.batch_detail(pk, actor))

    @expose("/<int:pk>/deviations", methods=["POST"])
    @protect()
    def post_deviation(self, pk: int):
        """Open a deviation: {reason} -> 201; the batch moves to DEVIATION_OPEN."""
        data = _body()
        actor = current_actor()
        queries.get_visible(pk, actor)
        deviation = service.open_deviation(pk, text_input(data.get("reason"), "reason") or "", actor)
        return json_response(
            201, {"deviation": queries.deviation_dict(deviation), "batch": queries.batch_detail(pk, actor)}
        )

    @expose("/<int:pk>/deviations/<int:deviation_id>/close", methods=["POST"])
    @protect()
    def post_close_deviation(self, pk: int, deviation_id: int):
        """Close a deviation: {note}; the batch returns to the state it was in."""
        data = _body()
        actor = current_actor()
        queries.get_visible(pk, actor)
        deviation = service.close_deviation(
            pk, deviation_id, text_input(data.get("note"), "note") or "", actor
        )
        return json_response(
            200, {"deviation": queries.deviation_dict(deviation), "batch": queries.batch_detail(pk, actor)}
        )


def register(appbuilder) -> None:
    appbuilder.add_api(BatchApi)
