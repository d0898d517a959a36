"""QC API under /api/v1 (FAB BaseApi; QC document section 6).

GET  /api/v1/qc/test-definitions[?active=true|false&q=]            can_read  on QcTestDefinition
GET  /api/v1/qc/test-definitions/<id>                                can_read  on QcTestDefinition
POST /api/v1/qc/test-definitions                                     can_write on QcTestDefinition
PUT  /api/v1/qc/test-definitions/<id>                                can_write on QcTestDefinition
GET  /api/v1/products/<id>/qc-templates                              can_read  on QcTemplate
GET  /api/v1/products/<id>/qc-templates/<tid>                        can_read  on QcTemplate
POST /api/v1/products/<id>/qc-templates   new DRAFT version          can_write on QcTemplate
PUT  /api/v1/products/<id>/qc-templates[/<tid>]  DRAFT lines         can_write on QcTemplate
POST /api/v1/products/<id>/qc-templates/<tid>/activate  e-signature  can_activate on QcTemplate
POST /api/v1/products/<id>/qc-templates/<tid>/retire                 can_write on QcTemplate
GET  /api/v1/batches/<id>/qc-session                                 can_read  on QcSession
GET  /api/v1/batches/<id>/qc-session/history                         can_read  on QcSession
PUT  /api/v1/batches/<id>/qc-results/<rid>                           can_enter on QcSession
POST /api/v1/batches/<id>/qc-results/<rid>/attachments  (multipart)  can_enter on QcSession
GET  /api/v1/batches/<id>/qc-attachments/<aid>  download             can_read  on QcSession
POST /api/v1/batches/<id>/qc-session/submit                          can_enter on QcSession
POST /api/v1/batches/<id>/qc-session/review                          can_review on QcSession
POST /api/v1/batches/<id>/qc-samples  {"sample_type","taken_at","note"} can_enter on QcSession
POST /api/v1/batches/<id>/qc-session/attach-template                  can_attach_template on QcSession
GET  /api/v1/qc/imports[/<id>]   instrument imports with their rows     can_read  on QcSession
POST /api/v1/qc/imports  {"rows": [...]} or multipart `file`: preview   can_enter on QcSession
POST /api/v1/qc/imports/<id>/apply  {"reason"}                          can_enter on QcSession

The product and batch routes share their URL prefixes with the master-data and batch APIs; they
are separate FAB BaseApi classes (own blueprints) whose paths never overlap those APIs' routes.
Handlers parse input and call one service function; DomainError becomes the JSON error body.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request, send_file
from flask_appbuilder.api import BaseApi, expose
from flask_appbuilder.security.decorators import protect

from app.core.actor import current_actor
from app.core.api_errors import ApiErrorsMixin
from app.core.domain import ValidationFailed
from app.qc import attachments as qc_attachments
from app.qc import catalog as qc_catalog
from app.qc import imports as qc_imports
from app.qc import queries as qc_read
from app.qc import samples as qc_samples
from app.qc import service as qc
from app.qc import template_queries as qc_template_queries
from app.qc import templates as qc_templates

SESSION_PERMS = ("can_read", "can_enter", "can_review")


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationFailed("Send a JSON object.", {"body": "not a JSON object"})
    return data


def session_perms(resource: str = "QcSession", names: tuple[str, ...] = SESSION_PERMS) -> set[str]:
    sm = current_app.appbuilder.sm
    return {p for p in names if sm.has_access(p, resource)}


def _flag(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ValidationFailed("active must be true or false.", {"active": "true or false"})


class QcTestDefinitionApi(ApiErrorsMixin, BaseApi):
    resource_name = "qc-test-definitions"
    route_base = "/api/v1/qc/test-definitions"
    class_permission_name = "QcTestDefinition"
    method_permission_name = {"get_list": "read", "get_one": "read", "post_one": "write", "put_one": "write"}
    openapi_spec_tag = "QC test definitions"

    @expose("", methods=["GET"])
    @expose("/", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_list(self):
        """The QC test catalog (filter by active, search code/name/method)."""
        items = qc_catalog.list_definitions(active=_flag(request.args.get("active")), q=request.args.get("q"))
        return self.response(200, items=[qc_catalog.to_dict(i) for i in items], count=len(items))

    @expose("/<int:pk>", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_one(self, pk: int):
        """One test definition."""
        return self.response(200, result=qc_catalog.to_dict(qc_catalog.get(pk)))

    @expose("", methods=["POST"])
    @expose("/", methods=["POST"])
    @protect()
    def post_one(self):
        """Add a test to the catalog."""
        item = qc_catalog.create_test_definition(_body(), actor=current_actor())
        return self.response(201, result=qc_catalog.to_dict(item), id=item.id)

    @expose("/<int:pk>", methods=["PUT"])
    @protect()
    def put_one(self, pk: int):
        """Change a test (fields that judge results are locked while a template uses it)."""
        data = _body()
        item = qc_catalog.update_test_definition(pk, data, actor=current_actor(), reason=data.get("reason"))
        return self.response(200, result=qc_catalog.to_dict(item))


class ProductQcTemplateApi(ApiErrorsMixin, BaseApi):
    resource_name = "product-qc-templates"
    route_base = "/api/v1/products"
    class_permission_name = "QcTemplate"
    method_permission_name = {
        "get_list": "read",
        "get_one": "read",
        "post_version": "write",
        "put_draft": "write",
        "put_one": "write",
        "post_activate": "activate",
        "post_retire": "write",
    }
    openapi_spec_tag = "QC templates"

    @expose("/<int:product_id>/qc-templates", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_list(self, product_id: int):
        """Every version of the product's QC template, newest first, with lines."""
        product = qc_template_queries.get_product(product_id)
        versions = qc_template_queries.versions(product_id)
        active = next((t.id for t in versions if t.status == "ACTIVE"), None)
        return self.response(
            200,
            product={"id": product.id, "code": product.code, "name_en": product.name_en},
            active_template_id=active,
            items=[qc_template_queries.template_dict(t) for t in versions],
        )

    @expose("/<int:product_id>/qc-templates/<int:template_id>", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_one(self, product_id: int, template_id: int):
        """One version with its lines."""
        return self.response(
            200,
            result=qc_template_queries.template_dict(
                qc_template_queries.get_template(product_id, template_id)
            ),
        )

    @expose("/<int:product_id>/qc-templates", methods=["POST"])
    @protect()
    def post_version(self, product_id: int):
        """Start a DRAFT version: a copy of the ACTIVE one, of `copy_from_template_id`, or `lines`."""
        data = request.get_json(silent=True) or {}
        if not isinstance(data, dict):
            raise ValidationFailed("Send a JSON object.", {"body": "not a JSON object"})
        copy_from = data.get("copy_from_template_id")
        if copy_from is not None and (isinstance(copy_from, bool) or not isinstance(copy_from, int)):
            raise ValidationFailed(
                "copy_from_template_id must be a template id.", {"copy_from_template_id": "int"}
            )
        tpl = qc_templates.create_version(
            product_id,
            copy_from_template_id=copy_from,
            lines=data.get("lines"),
            change_summary=data.get("change_summary"),
            actor=current_actor(),
        )
        return self.response(201, result=qc_template_queries.template_dict(tpl), id=tpl.id)

    @expose("/<int:product_id>/qc-templates", methods=["PUT"])
    @protect()
    def put_draft(self, product_id: int):
        """Replace the lines of the product's DRAFT version (or of `template_id`)."""
        data = _body()
        template_id = data.get("template_id")
        if template_id is None:
            draft = qc_template_queries.draft_template(product_id)
            if draft is None:
                from app.core.domain import DomainError

                raise DomainError("QC_NO_DRAFT", "There is no draft version: create one first (POST).", 409)
            template_id = draft.id
        return self._save(product_id, int(template_id), data)

    @expose("/<int:product_id>/qc-templates/<int:template_id>", methods=["PUT"])
    @protect()
    def put_one(self, product_id: int, template_id: int):
        """Replace the lines of a DRAFT version."""
        return self._save(product_id, template_id, _body())

    def _save(self, product_id: int, template_id: int, data: dict[str, Any]):
        if "lines" not in data:
            raise ValidationFailed("Send the template's lines.", {"lines": "required"})
        tpl = qc_templates.save_draft_lines(
            product_id,
            template_id,
            data["lines"],
            change_summary=data.get("change_summary"),
            actor=current_actor(),
        )
        return self.response(200, result=qc_template_queries.template_dict(tpl))

    @expose("/<int:product_id>/qc-templates/<int:template_id>/activate", methods=["POST"])
    @protect()
    def post_activate(self, product_id: int, template_id: int):
        """Activate a DRAFT with the QC Manager's e-signature ({"password","meaning","comment"})."""
        data = _body()
        tpl = qc_templates.activate(
            product_id,
            template_id,
            password=data.get("password"),
            meaning=data.get("meaning"),
            comment=data.get("comment"),
            actor=current_actor(),
        )
        return self.response(200, result=qc_template_queries.template_dict(tpl))

    @expose("/<int:product_id>/qc-templates/<int:template_id>/retire", methods=["POST"])
    @protect()
    def post_retire(self, product_id: int, template_id: int):
        """Retire a DRAFT or ACTIVE version ({"reason"})."""
        data = _body()
        tpl = qc_templates.retire(
            product_id, template_id, reason=data.get("reason") or "", actor=current_actor()
        )
        return self.response(200, result=qc_template_queries.template_dict(tpl, with_lines=False))


class BatchQcApi(ApiErrorsMixin, BaseApi):
    resource_name = "batch-qc"
    route_base = "/api/v1/batches"
    class_permission_name = "QcSession"
    method_permission_name = {
        "get_session": "read",
        "get_history": "read",
        "put_result": "enter",
        "post_attachment": "enter",
        "get_attachment": "read",
        "post_submit": "enter",
        "post_review": "review",
        "post_attach_template": "attach_template",
        "post_sample": "enter",
    }
    openapi_spec_tag = "Batch QC"

    def _visible(self, batch_id: int) -> None:
        qc_attachments.check_may_see_batch(batch_id, current_actor())

    @expose("/<int:batch_id>/qc-session", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_session(self, batch_id: int):
        """The batch's QC session: status, progress, allowed actions and every result row."""
        self._visible(batch_id)
        batch, session = qc.get_session(batch_id)
        return self.response(200, **qc_read.session_dict(batch, session, current_actor(), session_perms()))

    @expose("/<int:batch_id>/qc-session/history", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_history(self, batch_id: int):
        """Every value ever recorded in the session, newest first (who, when, why)."""
        self._visible(batch_id)
        _, session = qc.get_session(batch_id)
        items = [{k: v for k, v in h.items() if k != "entered_at_dt"} for h in qc_read.history(session)]
        return self.response(200, items=items, count=len(items))

    @expose("/<int:batch_id>/qc-results/<int:result_id>", methods=["PUT"])
    @protect()
    def put_result(self, batch_id: int, result_id: int):
        """Enter or correct a result: numeric_value | text_value | pass_fail_value, reason for corrections."""
        self._visible(batch_id)
        result = qc.record_qc_result(batch_id, result_id, _body(), actor=current_actor())
        return self.response(200, result=qc_read.result_dict(result))

    @expose("/<int:batch_id>/qc-results/<int:result_id>/attachments", methods=["POST"])
    @protect()
    def post_attachment(self, batch_id: int, result_id: int):
        """Upload one file (multipart field `file`): 413 when too large, 415 when not an allowed type."""
        qc_attachments.check_content_length(request.content_length)
        request.max_content_length = qc_attachments.request_limit()
        self._visible(batch_id)
        upload = request.files.get("file")
        item = qc_attachments.store_attachment(
            batch_id,
            result_id,
            upload.stream if upload else None,
            upload.filename if upload else None,
            actor=current_actor(),
        )
        return self.response(201, result=qc_attachments.as_dict(item, batch_id), id=item.id)

    @expose("/<int:batch_id>/qc-attachments/<int:attachment_id>", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_attachment(self, batch_id: int, attachment_id: int):
        """Download an attachment (users who may see the batch)."""
        item, path = qc_attachments.attachment_for_download(batch_id, attachment_id, actor=current_actor())
        return send_file(path, mimetype=item.mime_type, as_attachment=True, download_name=item.file_name)

    @expose("/<int:batch_id>/qc-session/submit", methods=["POST"])
    @protect()
    def post_submit(self, batch_id: int):
        """The analyst completes QC (to review, or passed/failed without a reviewer step)."""
        self._visible(batch_id)
        data = request.get_json(silent=True) or {}
        note = data.get("note") if isinstance(data, dict) else None
        qc.submit_session(batch_id, actor=current_actor(), note=note)
        batch, session = qc.get_session(batch_id)
        return self.response(200, **qc_read.session_dict(batch, session, current_actor(), session_perms()))

    @expose("/<int:batch_id>/qc-session/review", methods=["POST"])
    @protect()
    def post_review(self, batch_id: int):
        """{"decision": "APPROVE"|"REJECT"|"RETURN", "note", "verdicts": {result_id: PASS|FAIL}}."""
        self._visible(batch_id)
        data = _body()
        verdicts = data.get("verdicts") or {}
        if not isinstance(verdicts, dict):
            raise ValidationFailed("verdicts maps result ids to PASS or FAIL.", {"verdicts": "object"})
        qc.review_session(
            batch_id, data.get("decision"), note=data.get("note"), verdicts=verdicts, actor=current_actor()
        )
        batch, session = qc.get_session(batch_id)
        return self.response(200, **qc_read.session_dict(batch, session, current_actor(), session_perms()))

    @expose("/<int:batch_id>/qc-session/attach-template", methods=["POST"])
    @protect()
    def post_attach_template(self, batch_id: int):
        """QC Manager: give a batch made without a template the product's ACTIVE template."""
        self._visible(batch_id)
        qc.attach_active_template(batch_id, actor=current_actor())
        batch, session = qc.get_session(batch_id)
        return self.response(200, **qc_read.session_dict(batch, session, current_actor(), session_perms()))

    @expose("/<int:batch_id>/qc-samples", methods=["POST"])
    @protect()
    def post_sample(self, batch_id: int):
        """Record a sample drawn for QC (sample_type RELEASE_TESTING|ENDOTOXIN|STERILITY|RETENTION)."""
        self._visible(batch_id)
        data = _body()
        sample = qc_samples.record_sample(
            batch_id,
            data.get("sample_type"),
            taken_at=data.get("taken_at"),
            note=data.get("note"),
            actor=current_actor(),
        )
        return self.response(201, result=qc_samples.as_dict(sample), id=sample.id)


class QcImportApi(ApiErrorsMixin, BaseApi):
    """Instrument imports (app.qc.imports): preview first, apply through the manual entry's service."""

    resource_name = "qc-imports"
    route_base = "/api/v1/qc/imports"
    class_permission_name = "QcSession"
    method_permission_name = {
        "get_list": "read",
        "get_one": "read",
        "post_preview": "enter",
        "post_apply": "enter",
    }
    openapi_spec_tag = "QC instrument import"

    @expose("", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_list(self):
        """The latest imports (without their rows)."""
        items = [qc_imports.as_dict(i, rows=False) for i in qc_imports.list_imports()]
        return self.response(200, items=items, count=len(items))

    @expose("/<int:import_id>", methods=["GET"])
    @protect(allow_browser_login=True)
    def get_one(self, import_id: int):
        """One import with each row's values, errors and outcome."""
        return self.response(200, result=qc_imports.as_dict(qc_imports.get_import(import_id)))

    @expose("", methods=["POST"])
    @protect()
    def post_preview(self):
        """Check the rows and keep the import (nothing is written to the results): 201 with the preview."""
        if request.mimetype == "multipart/form-data":
            qc_attachments.check_content_length(request.content_length)
            request.max_content_length = qc_attachments.request_limit()
            upload = request.files.get("file")
            item = qc_imports.preview_csv(
                upload.stream if upload else None, upload.filename if upload else None, actor=current_actor()
            )
        else:
            item = qc_imports.preview_json(_body(), actor=current_actor())
        return self.response(201, result=qc_imports.as_dict(item), id=item.id)

    @expose("/<int:import_id>/apply", methods=["POST"])
    @protect()
    def post_apply(self, import_id: int):
        """Apply the valid rows; corrections need a reason (a row's own or `reason` for the import)."""
        data = request.get_json(silent=True) or {}
        reason = data.get("reason") if isinstance(data, dict) else None
        item = qc_imports.apply_import(
            import_id, reason=None if reason is None else str(reason), actor=current_actor()
        )
        return self.response(200, result=qc_imports.as_dict(item))


def register(appbuilder) -> None:
    appbuilder.add_api(QcImportApi)
    appbuilder.add_api(QcTestDefinitionApi)
    appbuilder.add_api(ProductQcTemplateApi)
    appbuilder.add_api(BatchQcApi)
