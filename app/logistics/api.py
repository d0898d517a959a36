"""Logistics API (FAB BaseApi; permissions on Shipment, Genealogy, Recall).

POST /api/v1/shipments                         plan a shipment              can_pack on Shipment
GET  /api/v1/shipments                         list (a hospital: its own)   can_read on Shipment
GET  /api/v1/shipments/<id>                    one, packages, custody       can_read on Shipment
POST /api/v1/shipments/<id>/packages           pack doses with dose rates   can_pack on Shipment
POST /api/v1/shipments/<id>/dispatch           hand to courier              can_dispatch on Shipment
POST /api/v1/shipments/<id>/deliver            confirm delivery             can_deliver on Shipment
POST /api/v1/shipments/<id>/cancel             cancel with a reason         can_cancel on Shipment
GET  /api/v1/shipments/<id>/transport-document PDF                          can_read on Shipment
GET  /api/v1/genealogy?start=&direction=       the tree                     can_read on Genealogy
GET  /api/v1/recalls/<id>                      a recall                     can_read on Recall
POST /api/v1/recalls                           open one {start, reason}     can_open on Recall
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, request
from flask_appbuilder.api import BaseApi, expose
from flask_appbuilder.security.decorators import protect

from app.core.actor import current_actor
from app.core.api_errors import ApiErrorsMixin
from app.core.domain import ValidationFailed
from app.core.jsonout import json_response
from app.dispensing.access import customer_scope
from app.dispensing.api import body, ids, whole
from app.genealogy import queries as genealogy
from app.logistics import documents, queries, recall, service


def _when(data: dict[str, Any], name: str) -> dt.datetime | None:
    raw = data.get(name)
    if raw in (None, ""):
        return None
    try:
        value = dt.datetime.fromisoformat(str(raw))
    except ValueError as err:
        raise ValidationFailed(
            f"{name} is not an ISO 8601 date and time.", {name: ["Not a date and time."]}
        ) from err
    if value.tzinfo is None:
        raise ValidationFailed(f"{name} must carry a time zone.", {name: ["No time zone."]})
    return value


def _one(shipment_id: int) -> dict[str, Any]:
    actor = current_actor()
    s = queries.visible_shipment(shipment_id, actor)
    return queries.shipment_dict(s, internal=customer_scope(actor) is None, with_detail=True)


class ShipmentApi(ApiErrorsMixin, BaseApi):
    route_base = "/api/v1/shipments"
    resource_name = "shipments"
    class_permission_name = "Shipment"
    method_permission_name = {
        "get_list": "read",
        "get_one": "read",
        "post_create": "pack",
        "post_package": "pack",
        "post_dispatch": "dispatch",
        "post_deliver": "deliver",
        "post_cancel": "cancel",
        "get_document": "read",
    }
    openapi_spec_tag = "Logistics"

    @expose("", methods=["GET"])
    @expose("/", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_list(self):
        """Shipments, newest first (a hospital sees its own).
        ---
        get:
          responses: {200: {description: shipments}}
        """
        status = request.args.get("status")
        if status is not None and len(status) > 16:
            raise ValidationFailed("Unknown status.", {"status": ["Unknown."]})
        return json_response(200, {"shipments": queries.list_shipments(current_actor(), status)})

    @expose("", methods=["POST"])
    @expose("/", methods=["POST"])
    @protect()
    def post_create(self):
        """Plan a shipment: {"customer_id", "courier", "planned_departure_at"}.
        ---
        post:
          requestBody: {content: {application/json: {schema: {type: object}}}}
          responses: {201: {description: created}}
        """
        data = body()
        s = service.create_shipment(
            data.get("customer_id"),
            current_actor(),
            courier=data.get("courier"),
            planned_departure_at=_when(data, "planned_departure_at"),
        )
        return json_response(201, _one(s.id))

    @expose("/<int:shipment_id>", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_one(self, shipment_id: int):
        """One shipment with its packages and chain of custody.
        ---
        get:
          parameters:
          - {in: path, name: shipment_id, required: true, schema: {type: integer}}
          responses: {200: {description: shipment}, 404: {description: not found}}
        """
        return json_response(200, _one(shipment_id))

    @expose("/<int:shipment_id>/packages", methods=["POST"])
    @protect()
    def post_package(self, shipment_id: int):
        """Pack: {"dose_unit_ids": [..], "surface_dose_rate_msv_h", "dose_rate_1m_msv_h"}.
        ---
        post:
          parameters:
          - {in: path, name: shipment_id, required: true, schema: {type: integer}}
          requestBody: {content: {application/json: {schema: {type: object}}}}
          responses: {201: {description: packed}, 409: {description: refused}}
        """
        data = body()
        service.pack_package(
            shipment_id,
            ids(data, "dose_unit_ids") or [],
            data.get("surface_dose_rate_msv_h"),
            data.get("dose_rate_1m_msv_h"),
            current_actor(),
        )
        return json_response(201, _one(shipment_id))

    @expose("/<int:shipment_id>/dispatch", methods=["POST"])
    @protect()
    def post_dispatch(self, shipment_id: int):
        """Hand the shipment to the courier.
        ---
        post:
          parameters:
          - {in: path, name: shipment_id, required: true, schema: {type: integer}}
          responses: {200: {description: dispatched}, 409: {description: refused}}
        """
        data = request.get_json(silent=True) or {}
        service.dispatch_shipment(
            shipment_id, current_actor(), note=data.get("note") if isinstance(data, dict) else None
        )
        return json_response(200, _one(shipment_id))

    @expose("/<int:shipment_id>/deliver", methods=["POST"])
    @protect()
    def post_deliver(self, shipment_id: int):
        """Confirm delivery: {"received_by", "note"} (Logistics, or the hospital's own user).
        ---
        post:
          parameters:
          - {in: path, name: shipment_id, required: true, schema: {type: integer}}
          responses: {200: {description: delivered}, 404: {description: not found}}
        """
        data = request.get_json(silent=True) or {}
        if not isinstance(data, dict):
            raise ValidationFailed("Send a JSON object.", {"body": ["Not a JSON object."]})
        service.deliver_shipment(
            shipment_id, current_actor(), received_by=data.get("received_by"), note=data.get("note")
        )
        return json_response(200, _one(shipment_id))

    @expose("/<int:shipment_id>/cancel", methods=["POST"])
    @protect()
    def post_cancel(self, shipment_id: int):
        """Cancel: {"reason"}.
        ---
        post:
          parameters:
          - {in: path, name: shipment_id, required: true, schema: {type: integer}}
          responses: {200: {description: cancelled}, 409: {description: refused}}
        """
        data = body()
        service.cancel_shipment(shipment_id, data.get("reason"), current_actor())
        return json_response(200, _one(shipment_id))

    @expose("/<int:shipment_id>/transport-document", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_document(self, shipment_id: int):
        """The transport document (PDF).
        ---
        get:
          parameters:
          - {in: path, name: shipment_id, required: true, schema: {type: integer}}
          responses: {200: {description: PDF}}
        """
        detail = _one(shipment_id)
        pdf = documents.transport_document(detail)
        return Response(
            pdf,
            mimetype="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{detail["shipment_no"]}.pdf"'},
        )


class GenealogyApi(ApiErrorsMixin, BaseApi):
    route_base = "/api/v1/genealogy"
    resource_name = "genealogy"
    class_permission_name = "Genealogy"
    method_permission_name = {"get_tree": "read"}
    openapi_spec_tag = "Genealogy"

    @expose("", methods=["GET"])
    @expose("/", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_tree(self):
        """The genealogy from start=lot:<id>|batch:<id>|dose:<id>|shipment:<id>, direction=forward|backward|both.
        ---
        get:
          parameters:
          - {in: query, name: start, required: true, schema: {type: string}}
          - {in: query, name: direction, schema: {type: string}}
          responses: {200: {description: nodes and edges}, 422: {description: bad start}}
        """
        start = genealogy.parse_start(request.args.get("start"))
        direction = genealogy.parse_direction(request.args.get("direction"))
        return json_response(200, queries.genealogy_tree(start, direction))


class RecallApi(ApiErrorsMixin, BaseApi):
    route_base = "/api/v1/recalls"
    resource_name = "recalls"
    class_permission_name = "Recall"
    method_permission_name = {"get_one": "read", "post_open": "open"}
    openapi_spec_tag = "Genealogy"

    @expose("/<int:recall_id>", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_one(self, recall_id: int):
        """A recall: every dose unit, shipment and hospital order reference reached, with times.
        ---
        get:
          parameters:
          - {in: path, name: recall_id, required: true, schema: {type: integer}}
          responses: {200: {description: recall}, 404: {description: not found}}
        """
        return json_response(200, queries.recall_dict(recall_id))

    @expose("", methods=["POST"])
    @protect()
    def post_open(self):
        """Open a recall: {"start": "lot:<id>"|"batch:<id>", "reason"}.
        ---
        post:
          requestBody: {content: {application/json: {schema: {type: object}}}}
          responses: {201: {description: opened}}
        """
        data = body()
        start = genealogy.parse_start(data.get("start") if isinstance(data.get("start"), str) else None)
        reason = data.get("reason")
        if not isinstance(reason, str):
            raise ValidationFailed("A recall needs a reason.", {"reason": ["Required."]})
        r = recall.open_recall(start[0], start[1], reason, current_actor())
        return json_response(201, queries.recall_dict(r.id))


def register(appbuilder) -> None:
    for api in (ShipmentApi, GenealogyApi, RecallApi):
        appbuilder.add_api(api)


__all__ = ["register", "whole"]
