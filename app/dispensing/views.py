"""Dispensing pages: the dispensing screen of a released batch (forms post with CSRF to these views,
which call one service function each; a refusal comes back as a flash message with userMessage)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from werkzeug.exceptions import NotFound

from app.batches.queries import get_visible, viewer_for
from app.core.actor import current_actor
from app.core.domain import ValidationFailed
from app.dispensing import materials, queries, service
from app.masterdata.domain.units import UNITS
from app.masterdata.preferences import current_activity_unit, parse_activity


def _reading(raw: str | None, unit: str) -> Decimal:
    text = (raw or "").strip().replace(",", "")
    if not text or len(text) > 20:
        raise ValidationFailed("Enter the dose calibrator reading.", {"reading": "Required."})
    # exact: 1 mCi = 37 MBq; a reading the 0.1 MBq column cannot hold is refused, never rounded by it
    return parse_activity(text, unit, "reading", places=1)


def _unit(asked: str | None) -> str:
    """The page's MBq/mCi toggle when used, else the person's preferred unit (My preferences)."""
    return asked if asked in UNITS else current_activity_unit()


class DispensingView(BaseView):
    route_base = "/dispensing"
    class_permission_name = "DoseUnit"
    method_permission_name = {
        "batch": "read",
        "dispense": "dispense",
        "plan": "dispense",
        "complete": "dispense",
        "cancel": "dispense",
    }
    default_view = "batch"

    @expose("/batches/<int:batch_id>")
    @has_access
    def batch(self, batch_id: int):
        actor = current_actor()
        if viewer_for(actor).restricted:
            # the dispensing workstation (vial, expiry, lots) is internal; a hospital sees its doses
            # on its order's journey and through the API
            raise NotFound()
        unit = _unit(request.args.get("unit"))
        data = queries.doses_of_batch(batch_id, actor, unit=unit)
        return self.render_template(
            "dispensing/batch.html",
            d=data,
            unit=unit,
            now=dt.datetime.now(dt.UTC),
            lots=materials.lots_of_batch(batch_id),
        )

    def _back(self, batch_id: int):
        unit = request.form.get("unit") or request.args.get("unit")
        return redirect(
            url_for("DispensingView.batch", batch_id=batch_id, **({"unit": unit} if unit in UNITS else {}))
        )

    @expose("/batches/<int:batch_id>/plan", methods=["POST"])
    @has_access
    def plan(self, batch_id: int):
        get_visible(batch_id, current_actor())
        created = service.create_dose_units(batch_id, current_actor())
        flash(
            f"{len(created)} dose unit(s) planned from the batch's orders."
            if created
            else "Every order line of this batch already has a dose unit.",
            "success" if created else "info",
        )
        return self._back(batch_id)

    @expose("/doses/<int:dose_id>/dispense", methods=["POST"])
    @has_access
    def dispense(self, dose_id: int):
        dose = queries.visible_dose(dose_id, current_actor())
        unit = _unit(request.form.get("unit"))
        reading = _reading(request.form.get("reading"), unit)
        service.dispense_dose(dose_id, reading, current_actor(), note=request.form.get("note"), unit=unit)
        flash(f"Dose DU-{dose_id:06d} dispensed.", "success")
        return self._back(dose.batch_id)

    @expose("/doses/<int:dose_id>/cancel", methods=["POST"])
    @has_access
    def cancel(self, dose_id: int):
        dose = queries.visible_dose(dose_id, current_actor())
        service.cancel_dose(dose_id, request.form.get("reason"), current_actor())
        flash(f"Dose DU-{dose_id:06d} cancelled.", "success")
        return self._back(dose.batch_id)

    @expose("/batches/<int:batch_id>/complete", methods=["POST"])
    @has_access
    def complete(self, batch_id: int):
        get_visible(batch_id, current_actor())
        service.complete_dispensing(batch_id, current_actor())
        flash("Dispensing of the batch is complete.", "success")
        return self._back(batch_id)


def register(appbuilder) -> None:
    appbuilder.add_view_no_menu(DispensingView)
