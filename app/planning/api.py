"""Planner API: GET /api/v1/planner/days/<date> (can_read on Planner), POST /api/v1/planner/batch-plans
(can_plan on Planner)."""

from __future__ import annotations

import datetime as dt

from flask import request
from flask_appbuilder.api import BaseApi, expose
from flask_appbuilder.security.decorators import protect

from app.core.actor import current_actor
from app.core.api_errors import ApiErrorsMixin
from app.core.domain import ValidationFailed
from app.core.jsonout import json_response
from app.planning import queries, service


def _date(raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed("The date must be YYYY-MM-DD.", {"date": "not a date"}) from None


def _optional_id(data: dict, name: str) -> int | None:
    raw = data.get(name)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 < raw < 2**31:
        raise ValidationFailed(f"{name} must be a positive whole number.", {name: "not an id"})
    return raw


class PlannerApi(ApiErrorsMixin, BaseApi):
    resource_name = "planner"
    class_permission_name = "Planner"
    method_permission_name = {"get_day": "read", "post_batch_plan": "plan"}
    openapi_spec_tag = "Planner"

    @expose("/days/<string:day>", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_day(self, day: str):
        """Reserved vs committed minutes per delivery window of one day.
        ---
        get:
          parameters:
          - {in: path, name: day, required: true, schema: {type: string, format: date}}
          responses:
            200: {description: windows with total, held, committed, free minutes and utilisation %}
            422: {description: not a date}
        """
        if len(day) > 10:
            raise ValidationFailed("The date must be YYYY-MM-DD.", {"date": "not a date"})
        return json_response(200, queries.planner_day(_date(day)))

    @expose("/batch-plans", methods=["POST"])
    @protect()
    def post_batch_plan(self):
        """Plan validated orders into a new or an existing PLANNED batch.
        ---
        post:
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [order_ids]
                  properties:
                    order_ids: {type: array, items: {type: integer}, maxItems: 200}
                    batch_id: {type: integer, description: add to this PLANNED batch}
                    planned_eos_at: {type: string, format: date-time, description: end of synthesis (with offset)}
                    hot_cell_id: {type: integer}
          responses:
            201: {description: batch id, number and the activity arithmetic}
            409: {description: ORDER_NOT_VALIDATED, BATCH_NOT_PLANNED}
            422: {description: MIXED_PRODUCTS, CALIBRATION_BEFORE_EOS, VALIDATION_ERROR}
        """
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise ValidationFailed("Send a JSON object.", {"body": "not a JSON object"})
        eos = None
        raw = data.get("planned_eos_at")
        if raw is not None:
            if not isinstance(raw, str) or len(raw) > 40:
                raise ValidationFailed(
                    "planned_eos_at must be a date and time.", {"planned_eos_at": "not a time"}
                )
            try:
                eos = dt.datetime.fromisoformat(raw)
            except ValueError:
                raise ValidationFailed(
                    "planned_eos_at must be a date and time.", {"planned_eos_at": "not a time"}
                ) from None
            if eos.tzinfo is None:
                raise ValidationFailed(
                    "planned_eos_at needs its UTC offset.", {"planned_eos_at": "no offset"}
                )
        result = service.create_batch_plan(
            data.get("order_ids"),  # type: ignore[arg-type]  (checked by the service)
            current_actor(),
            batch_id=_optional_id(data, "batch_id"),
            planned_eos_at=eos,
            hot_cell_id=_optional_id(data, "hot_cell_id"),
        )
        return json_response(201, result)


def register(appbuilder) -> None:
    appbuilder.add_api(PlannerApi)
