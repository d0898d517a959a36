"""Order API under /api/v1/orders (FAB BaseApi; permissions `can_<act> on Order`).

GET    /api/v1/orders                 list with filters                 can_read
POST   /api/v1/orders                 create (submit) an order          can_create
GET    /api/v1/orders/<id>            order + lines + timeline          can_read
POST   /api/v1/orders/<id>/validate   validate a submitted order        can_validate
POST   /api/v1/orders/<id>/reject     reject with a reason              can_validate
POST   /api/v1/orders/<id>/cancel     cancel with a reason              can_cancel

A Customer token sees and acts on its own hospital's orders only (404 for others).
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_appbuilder.api import BaseApi, expose
from flask_appbuilder.security.decorators import protect

from app.core.actor import current_actor
from app.core.api_errors import ApiErrorsMixin
from app.core.domain import ValidationFailed
from app.core.jsonout import json_response
from app.orders import queries, service

MAX_ID = 2**31 - 1


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationFailed("Send a JSON object.", {"body": "not a JSON object"})
    return data


def _id(data: dict[str, Any], name: str) -> int | None:
    raw = data.get(name)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 < raw <= MAX_ID:
        raise ValidationFailed(f"{name} must be a positive whole number.", {name: "not an id"})
    return raw


def _text(data: dict[str, Any], name: str, limit: int = 2000) -> str | None:
    raw = data.get(name)
    if raw is None:
        return None
    if not isinstance(raw, str) or "\x00" in raw:
        raise ValidationFailed(f"{name} must be text.", {name: "not text"})
    if len(raw) > limit:
        raise ValidationFailed(f"{name} may be at most {limit} characters.", {name: "too long"})
    return raw


def _lines(data: dict[str, Any]) -> list[dict[str, Any]]:
    lines = data.get("lines")
    if not isinstance(lines, list) or not all(isinstance(x, dict) for x in lines):
        raise ValidationFailed(
            "lines must be a list of {requested_activity_mbq, calibration_at}.", {"lines": "not a list"}
        )
    for index, line in enumerate(lines):
        for key in ("calibration_at", "line_reference"):
            value = line.get(key)
            if value is not None and (not isinstance(value, str) or len(value) > 64 or "\x00" in value):
                raise ValidationFailed(
                    "Some order lines are not valid.", {f"lines[{index}].{key}": "not valid"}
                )
    return lines


class OrderApi(ApiErrorsMixin, BaseApi):
    resource_name = "orders"
    class_permission_name = "Order"
    method_permission_name = {
        "get_list": "read",
        "get_one": "read",
        "post_create": "create",
        "post_validate": "validate",
        "post_reject": "reject",
        "post_cancel": "cancel",
    }
    openapi_spec_tag = "Orders"

    @expose("", methods=["GET"])
    @expose("/", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_list(self):
        """Orders matching the filters.
        ---
        get:
          parameters:
          - {in: query, name: status, schema: {type: string}, description: repeatable}
          - {in: query, name: customer, schema: {type: string}, description: customer code, repeatable}
          - {in: query, name: product, schema: {type: string}, description: product code, repeatable}
          - {in: query, name: date_from, schema: {type: string, format: date}}
          - {in: query, name: date_to, schema: {type: string, format: date}}
          - {in: query, name: q, schema: {type: string, maxLength: 60}, description: order number or hospital order reference}
          - {in: query, name: page, schema: {type: integer, minimum: 1}}
          - {in: query, name: page_size, schema: {type: integer, minimum: 1, maximum: 200}}
          responses:
            200: {description: A page of orders}
            422: {description: A filter is not valid}
        """
        return json_response(200, queries.list_orders(queries.parse_filter(request.args), current_actor()))

    @expose("/<int:pk>", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_one(self, pk: int):
        """One order with its lines, journey and timeline.
        ---
        get:
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200: {description: The order}
            404: {description: Not found or not yours}
        """
        return json_response(200, queries.order_detail(pk, current_actor()))

    @expose("", methods=["POST"])
    @expose("/", methods=["POST"])
    @protect()
    def post_create(self):
        """Submit an order, from a held reservation or on its own.
        ---
        post:
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [hospital_order_reference, lines]
                  properties:
                    reservation_id: {type: integer}
                    hospital_order_reference: {type: string, minLength: 3, maxLength: 40}
                    product_code: {type: string, description: without a reservation}
                    window_id: {type: integer, description: without a reservation}
                    slot_id: {type: integer}
                    customer_code: {type: string, description: when staff order for a hospital}
                    lines:
                      type: array
                      items:
                        type: object
                        required: [requested_activity_mbq, calibration_at]
                        properties:
                          requested_activity_mbq: {type: number}
                          calibration_at: {type: string, format: date-time}
                          line_reference: {type: string, maxLength: 40}
          responses:
            201: {description: The submitted order}
            404: {description: Reservation, window or product not found}
            409: {description: RESERVATION_EXPIRED, CAPACITY_EXCEEDED, WINDOW_CLOSED, TIME_STANDARD_MISSING}
            422: {description: REFERENCE_INVALID or VALIDATION_ERROR}
        """
        data = _body()
        actor = current_actor()
        reference = data.get("hospital_order_reference")
        if reference is not None and not isinstance(reference, str):
            raise ValidationFailed(
                "hospital_order_reference must be text.", {"hospital_order_reference": "not text"}
            )
        order = service.create_order(
            actor,
            reservation_id=_id(data, "reservation_id"),
            hospital_order_reference=reference or "",  # too long: 422 from the column guard
            lines=_lines(data),
            customer_code=_text(data, "customer_code", 32),
            window_id=_id(data, "window_id"),
            product_code=_text(data, "product_code", 32),
            slot_id=_id(data, "slot_id"),
        )
        return json_response(201, queries.order_detail(order.id, actor))

    @expose("/<int:pk>/validate", methods=["POST"])
    @protect()
    def post_validate(self, pk: int):
        """Validate a submitted order (checklist, committed minutes).
        ---
        post:
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200: {description: The validated order}
            409: {description: LICENCE_EXPIRED, PRODUCT_NOT_PERMITTED, CREDIT_HOLD, CAPACITY_EXCEEDED, TRANSITION_NOT_ALLOWED}
        """
        actor = current_actor()
        queries.get_visible(pk, actor)
        service.validate_order(pk, actor)
        return json_response(200, queries.order_detail(pk, actor))

    @expose("/<int:pk>/reject", methods=["POST"])
    @protect()
    def post_reject(self, pk: int):
        """Reject a submitted order with a reason.
        ---
        post:
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          requestBody:
            required: true
            content:
              application/json:
                schema: {type: object, required: [reason], properties: {reason: {type: string, maxLength: 2000}}}
          responses:
            200: {description: The rejected order}
            409: {description: TRANSITION_NOT_ALLOWED}
            422: {description: reason missing}
        """
        data = _body()
        actor = current_actor()
        queries.get_visible(pk, actor)
        service.reject_order(pk, _text(data, "reason"), actor)
        return json_response(200, queries.order_detail(pk, actor))

    @expose("/<int:pk>/cancel", methods=["POST"])
    @protect()
    def post_cancel(self, pk: int):
        """Cancel an order with a reason; its minutes return at once.
        ---
        post:
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          requestBody:
            required: true
            content:
              application/json:
                schema: {type: object, required: [reason], properties: {reason: {type: string, maxLength: 2000}}}
          responses:
            200: {description: The cancelled order}
            404: {description: Not found or not yours}
            409: {description: TRANSITION_NOT_ALLOWED}
        """
        data = _body()
        actor = current_actor()
        queries.get_visible(pk, actor)
        service.cancel_order(pk, _text(data, "reason"), actor)
        return json_response(200, queries.order_detail(pk, actor))


def register(appbuilder) -> None:
    appbuilder.add_api(OrderApi)
