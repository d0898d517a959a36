"""QP release API under /api/v1 (FAB BaseApi).

POST /api/v1/batches/<id>/disposition    sign a disposition                 can_release on Batch
GET  /api/v1/batches/<id>/release        review panel + signed dispositions  can_read on Batch
GET  /api/v1/batches/<id>/coa            Certificate of Analysis (PDF)       can_read on Batch
GET  /api/v1/release/queue               batches waiting for the QP          can_read on Release

The disposition body is {"disposition": "RELEASE"|"HOLD"|"REJECT"|"LIFT_HOLD", "password",
"meaning"?, "comment"?, "version"?}. Answers: 200 with the disposition, its signature manifestation
and the batch; 403 SIGNATURE_INVALID (wrong password), 423 SIGNATURE_LOCKED, 409 SOD_VIOLATION,
403 RELEASE_NOT_AUTHORISED, 409 TRANSITION_NOT_ALLOWED / CONFLICT, 422 COMMENT_REQUIRED /
VALIDATION_ERROR, 404 for a batch this person can't see.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_appbuilder.api import BaseApi, expose
from flask_appbuilder.security.decorators import protect

from app.batches import queries as batch_queries
from app.batches.api import to_json
from app.core.actor import current_actor
from app.core.api_errors import ApiErrorsMixin
from app.core.domain import ValidationFailed
from app.release import coa
from app.release import review as release_review
from app.release import service as release


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationFailed("Send a JSON object.", {"body": ["Not a JSON object."]})
    return data


def _optional_int(data: dict[str, Any], name: str) -> int | None:
    raw = data.get(name)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValidationFailed(f"{name} must be a whole number.", {name: ["Not a whole number."]})
    return raw


def _text(data: dict[str, Any], name: str) -> str | None:
    raw = data.get(name)
    if raw is None or isinstance(raw, str):
        return raw
    raise ValidationFailed(f"{name} must be text.", {name: ["Not text."]})


def disposition_response(record, actor) -> dict[str, Any]:
    sig = release_review.disposition_dict(record, release.esign_of(record))
    return {"disposition": to_json(sig), "batch": to_json(batch_queries.batch_detail(record.batch_id, actor))}


class ReleaseBatchApi(ApiErrorsMixin, BaseApi):
    resource_name = "batches"
    class_permission_name = "Batch"
    method_permission_name = {"post_disposition": "release", "get_release": "read", "get_coa": "read"}
    openapi_spec_tag = "QP release"

    @expose("/<int:pk>/disposition", methods=["POST"])
    @protect()
    def post_disposition(self, pk: int):
        """Sign a QP disposition (release, hold, reject, lift hold) with password re-entry."""
        data = _body()
        actor = current_actor()
        batch_queries.get_visible(pk, actor)
        record = release.decide_disposition(
            pk,
            data.get("disposition"),
            actor=actor,
            password=_text(data, "password"),
            meaning=_text(data, "meaning"),
            comment=_text(data, "comment"),
            expected_version=_optional_int(data, "version"),
        )
        return self.response(200, **disposition_response(record, actor))

    @expose("/<int:pk>/release", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_release(self, pk: int):
        """Review by exception for this batch, the dispositions the caller may sign, and the
        dispositions already signed with their signature manifestation."""
        actor = current_actor()
        batch = batch_queries.get_visible(pk, actor)
        if batch_queries.viewer_for(actor).restricted:
            latest = coa.customer_release(release_review.latest_release(pk))
            return self.response(200, release=to_json(latest), batch_no=batch.batch_no)
        return self.response(200, **to_json(release_review.review(batch, actor)))

    @expose("/<int:pk>/coa", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_coa(self, pk: int):
        """The Certificate of Analysis as a PDF (hospital users: released batches only)."""
        pdf, name = coa.render_pdf(pk, current_actor())
        return Response(
            pdf, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'}
        )


class ReleaseQueueApi(ApiErrorsMixin, BaseApi):
    resource_name = "release"
    class_permission_name = "Release"
    method_permission_name = {"get_queue": "read"}
    openapi_spec_tag = "QP release"

    @expose("/queue", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_queue(self):
        """Batches in QP review or on hold (and QC passed, ready for review), oldest first."""
        items = release_review.queue()
        return self.response(200, items=to_json(items), count=len(items))


def register(appbuilder) -> None:
    appbuilder.add_api(ReleaseBatchApi)
    appbuilder.add_api(ReleaseQueueApi)
