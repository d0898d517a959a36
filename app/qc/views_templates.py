"""Product QC template builder: /products/<id>/qc-template (and /products/qc-templates, the index).

Versions panel (new version from the current one, activate with the QC Manager's signature,
retire), the lines grid (drag-and-drop order, test picker, criteria builder with live preview,
required / attachment / timing toggles). Every POST calls the same service as the API.
"""

from __future__ import annotations

import json

from flask import flash, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from sqlalchemy import select

from app.core.actor import current_actor
from app.core.domain import DomainError, ValidationFailed
from app.core.extensions import db
from app.masterdata.models import Product
from app.qc import catalog as qc_catalog
from app.qc import template_queries as qc_template_queries
from app.qc import templates as qc_templates
from app.qc.domain.rules import RULE_LABELS, RULE_TYPES
from app.qc.models import ProductQcTemplate
from app.security.models import ESignature


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _done(url: str, message: str):
    if _wants_json():
        flash(message, "success")
        return jsonify(redirect=url)
    flash(message, "success")
    return redirect(url)


class QcTemplateView(BaseView):
    route_base = "/products"
    default_view = "index"
    class_permission_name = "QcTemplate"
    method_permission_name = {
        "index": "read",
        "builder": "read",
        "new_version": "write",
        "save_lines": "write",
        "retire": "write",
        "activate": "activate",
    }

    @expose("/qc-templates")
    @has_access
    def index(self):
        products = db.session.execute(select(Product).order_by(Product.code)).scalars().all()
        templates = db.session.execute(select(ProductQcTemplate)).scalars().all()
        by_product: dict[int, dict[str, ProductQcTemplate]] = {}
        for t in templates:
            by_product.setdefault(t.product_id, {})
            if t.status in ("ACTIVE", "DRAFT"):
                by_product[t.product_id][t.status] = t
        return self.render_template("qc/templates_index.html", products=products, by_product=by_product)

    @expose("/<int:product_id>/qc-template")
    @has_access
    def builder(self, product_id: int):
        product = qc_template_queries.get_product(product_id)
        versions = qc_template_queries.versions(product_id)
        active = next((t for t in versions if t.status == "ACTIVE"), None)
        draft = next((t for t in versions if t.status == "DRAFT"), None)
        selected = None
        wanted = request.args.get("version", type=int)
        if wanted:
            selected = next((t for t in versions if t.id == wanted), None)
        selected = selected or draft or active or (versions[0] if versions else None)
        sm = self.appbuilder.sm
        can_write = sm.has_access("can_write", "QcTemplate")
        can_activate = sm.has_access("can_activate", "QcTemplate")
        signature = db.session.get(ESignature, active.activation_signature_id) if active else None
        tests = [qc_catalog.to_dict(t) for t in qc_catalog.list_definitions(active=True)]
        lines = [qc_template_queries.line_dict(ln) for ln in selected.lines] if selected else []
        editable = bool(selected and selected.status == "DRAFT" and can_write)
        return self.render_template(
            "qc/template_builder.html",
            product=product,
            versions=versions,
            active=active,
            draft=draft,
            selected=selected,
            lines=lines,
            lines_json=json.dumps(lines, ensure_ascii=False),
            tests_json=json.dumps(tests, ensure_ascii=False),
            rule_labels=RULE_LABELS,
            rule_types=RULE_TYPES,
            editable=editable,
            can_write=can_write,
            can_activate=can_activate,
            signature=signature,
            meaning=qc_templates.DEFAULT_MEANING,
        )

    def _back(self, product_id: int, template_id: int | None = None) -> str:
        return url_for("QcTemplateView.builder", product_id=product_id, version=template_id)

    @expose("/<int:product_id>/qc-template/versions", methods=["POST"])
    @has_access
    def new_version(self, product_id: int):
        copy_from = request.form.get("copy_from_template_id", type=int)
        tpl = qc_templates.create_version(
            product_id,
            copy_from_template_id=copy_from,
            change_summary=request.form.get("change_summary"),
            actor=current_actor(),
        )
        return _done(
            self._back(product_id, tpl.id),
            f"Draft version {tpl.version} created. Edit its lines, then activate it.",
        )

    @expose("/<int:product_id>/qc-template/<int:template_id>/lines", methods=["POST"])
    @has_access
    def save_lines(self, product_id: int, template_id: int):
        payload = request.get_json(silent=True) if request.is_json else None
        if payload is None:
            raw = request.form.get("lines_json", "")
            try:
                payload = {"lines": json.loads(raw), "change_summary": request.form.get("change_summary")}
            except ValueError:
                raise ValidationFailed(
                    "The template lines could not be read. Reload the page.", {"lines": "json"}
                ) from None
        if not isinstance(payload, dict):
            raise ValidationFailed(
                "The template lines could not be read. Reload the page.", {"lines": "json"}
            )
        qc_templates.save_draft_lines(
            product_id,
            template_id,
            payload.get("lines"),
            change_summary=payload.get("change_summary"),
            actor=current_actor(),
        )
        return _done(self._back(product_id, template_id), "Draft saved.")

    @expose("/<int:product_id>/qc-template/<int:template_id>/activate", methods=["POST"])
    @has_access
    def activate(self, product_id: int, template_id: int):
        tpl = qc_templates.activate(
            product_id,
            template_id,
            password=request.form.get("password"),
            meaning=request.form.get("meaning"),
            comment=request.form.get("comment"),
            actor=current_actor(),
        )
        return _done(self._back(product_id, tpl.id), f"Version {tpl.version} is now active for new batches.")

    @expose("/<int:product_id>/qc-template/<int:template_id>/retire", methods=["POST"])
    @has_access
    def retire(self, product_id: int, template_id: int):
        try:
            tpl = qc_templates.retire(
                product_id, template_id, reason=request.form.get("reason", ""), actor=current_actor()
            )
        except DomainError as err:
            if _wants_json():
                raise
            flash(err.user_message, "danger")
            return redirect(self._back(product_id, template_id))
        return _done(self._back(product_id, tpl.id), f"Version {tpl.version} retired.")


def register(appbuilder) -> None:
    appbuilder.add_view(QcTemplateView, "QC templates", icon="fa-list-ol", category="QC")
