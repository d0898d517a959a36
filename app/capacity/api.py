"""Capacity API (FAB BaseApi; permissions `can_<act> on Reservation`).

GET  /api/v1/capacity/windows?date_from&date_to&product_code   windows with remaining minutes   can_read
POST /api/v1/reservations                                       hold minutes                     can_create
GET  /api/v1/reservations/<id>                                  one reservation                  can_read
POST /api/v1/reservations/<id>/cancel                           cancel a hold                    can_cancel

A hospital (Customer role) books for its own hospital and sees only its own reservations (404 for
others). Errors are {"code","userMessage","traceId"} (+ "details"): 422 for wrong types, missing
fields, NUL bytes and out-of-range numbers; 404 for ids beyond 32 bit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from flask import Response, request
from flask_appbuilder.api import BaseApi, expose
from flask_appbuilder.security.decorators import protect
from sqlalchemy import inspect, select

from app.capacity import queries, service
from app.core.actor import current_actor
from app.core.api_errors import ApiErrorsMixin
from app.core.domain import NotFound, ValidationFailed
from app.core.extensions import db
from app.core.web import site_today
from app.masterdata.models import Customer, Product

MAX_RANGE_DAYS = 400


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def json_response(status: int, body: Any) -> Response:
    text = json.dumps(body, default=_default, ensure_ascii=False, separators=(",", ":"))
    return Response(text, status=status, mimetype="application/json")


def _text(data: dict[str, Any], name: str, max_len: int, required: bool = True) -> str | None:
    raw = data.get(name)
    if raw is None:
        if required:
            raise ValidationFailed(f"{name} is required.", {name: ["Required."]})
        return None
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationFailed(f"{name} must be text.", {name: ["Not text."]})
    if "\x00" in raw or len(raw) > max_len:
        raise ValidationFailed(
            f"{name} is too long or not valid text.", {name: [f"At most {max_len} characters."]}
        )
    return raw.strip()


def _int(data: dict[str, Any], name: str, required: bool = True) -> int | None:
    raw = data.get(name)
    if raw is None and not required:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValidationFailed(f"{name} must be a whole number.", {name: ["Not a whole number."]})
    if not -(2**63) < raw < 2**63:
        raise ValidationFailed(f"{name} is out of range.", {name: ["Out of range."]})
    return raw


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationFailed("Send a JSON object.", {"body": ["Not a JSON object."]})
    return data


def _date_arg(name: str, default: dt.date) -> dt.date:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        if "\x00" in raw or len(raw) > 10:
            raise ValueError
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(f"{name} must be a date (YYYY-MM-DD).", {name: ["Not a date."]}) from None


def _by_code(model: Any, code: str, what: str) -> Any:
    found = db.session.execute(select(model).where(model.code == code)).scalar()
    if found is None:
        raise NotFound(what)
    return found


class CapacityApi(ApiErrorsMixin, BaseApi):
    resource_name = "capacity"
    class_permission_name = "Reservation"
    method_permission_name = {"get_windows": "read"}
    openapi_spec_tag = "Capacity"

    @expose("/windows", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_windows(self):
        """Delivery windows with their remaining dispensing minutes.
        ---
        get:
          summary: Windows between two local dates (inclusive) with remaining minutes per window and slot
          parameters:
          - {in: query, name: date_from, schema: {type: string, format: date}, description: default today}
          - {in: query, name: date_to, schema: {type: string, format: date}, description: default date_from + 30 days}
          - {in: query, name: product_code, schema: {type: string}, description: adds minutes_per_dose}
          responses:
            200: {description: "{items: [{id, date, start, end, total_minutes, remaining_minutes, closed, slots}]}"}
            404: {description: unknown product}
            422: {description: bad dates or range over 400 days}
        """
        today = site_today()
        date_from = _date_arg("date_from", today)
        date_to = _date_arg("date_to", date_from + dt.timedelta(days=30))
        if date_to < date_from or (date_to - date_from).days > MAX_RANGE_DAYS:
            raise ValidationFailed(
                f"Ask for 0 to {MAX_RANGE_DAYS} days, date_to not before date_from.",
                {"date_to": ["Bad range."]},
            )
        product_code = request.args.get("product_code") or None
        if product_code is not None and ("\x00" in product_code or len(product_code) > 32):
            raise ValidationFailed("product_code is not valid.", {"product_code": ["Not a product code."]})
        items = queries.windows_between(date_from, date_to, product_code)
        return json_response(200, {"items": items, "count": len(items)})


class ReservationApi(ApiErrorsMixin, BaseApi):
    resource_name = "reservations"
    class_permission_name = "Reservation"
    method_permission_name = {"post_hold": "create", "get_one": "read", "post_cancel": "cancel"}
    openapi_spec_tag = "Capacity"

    @expose("", methods=["POST"])
    @expose("/", methods=["POST"])
    @protect()
    def post_hold(self):
        """Hold minutes of a delivery window.
        ---
        post:
          summary: Hold dispensing minutes for RESERVATION_HOLD_MINUTES (default 15)
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [product_code, window_id, dose_count]
                  properties:
                    product_code: {type: string, maxLength: 32}
                    window_id: {type: integer}
                    slot_id: {type: integer, nullable: true}
                    dose_count: {type: integer, minimum: 1, maximum: 500}
                    customer_code: {type: string, description: planners and admins only}
          responses:
            201: {description: "{id, reference, status, reserved_minutes, expires_at}"}
            404: {description: unknown window, slot, product or customer}
            409: {description: "CAPACITY_EXCEEDED (details.remaining_minutes, details.alternatives), WINDOW_CLOSED, TIME_STANDARD_MISSING"}
            422: {description: invalid body}
        """
        data = _body()
        product_code = _text(data, "product_code", 32)
        window_id = _int(data, "window_id")
        slot_id = _int(data, "slot_id", required=False)
        dose_count = _int(data, "dose_count")
        customer_code = _text(data, "customer_code", 32, required=False)
        actor = current_actor()
        restricted, own = queries.customer_of(actor)
        customer_id = own if restricted else None
        if restricted and own is not None:
            actor = dataclasses.replace(actor, customer_id=own)  # the service need not look it up again
        if customer_code is not None:
            customer = _by_code(Customer, customer_code, "customer")
            if restricted and customer.id != own:
                raise NotFound("customer")
            customer_id = customer.id
        product = _by_code(Product, product_code, "product")
        assert window_id is not None and dose_count is not None
        reservation = service.hold_reservation(
            customer_id, product.id, window_id, dose_count, slot_id=slot_id, actor=actor
        )
        # The commit expired the reservation: read it back with what the answer shows in one statement.
        return json_response(
            201,
            queries.reservation_json(
                queries.load_reservation(inspect(reservation).identity[0]) or reservation
            ),
        )

    @expose("/<int:pk>", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_one(self, pk: int):
        """One reservation.
        ---
        get:
          summary: A reservation (a hospital sees only its own)
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200: {description: "{id, reference, status, reserved_minutes, expires_at, ...}"}
            404: {description: not found or another hospital's}
        """
        return json_response(200, queries.reservation_json(queries.reservation_for(current_actor(), pk)))

    @expose("/<int:pk>/cancel", methods=["POST"])
    @protect()
    def post_cancel(self, pk: int):
        """Cancel a hold; its minutes return at once.
        ---
        post:
          summary: Cancel a held reservation
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [reason]
                  properties:
                    reason: {type: string, maxLength: 1000}
          responses:
            200: {description: the cancelled reservation}
            404: {description: not found or another hospital's}
            409: {description: "RESERVATION_CONFIRMED, RESERVATION_NOT_HELD"}
            422: {description: reason missing or invalid}
        """
        data = _body()
        reason = _text(data, "reason", service.MAX_REASON)
        assert reason is not None
        reservation = service.cancel_reservation(pk, reason, current_actor())
        return json_response(200, queries.reservation_json(reservation))


def register(appbuilder) -> None:
    appbuilder.add_api(CapacityApi)
    appbuilder.add_api(ReservationApi)
