"""QC catalog and product templates on the real database: versions, signature, DB guards."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask import current_app
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.audit.models import AuditLog
from app.core.actor import actor_from_user
from app.core.domain import DomainError
from app.core.extensions import db
from app.masterdata.models import Product
from app.qc import catalog as qc_catalog
from app.qc import template_queries as qc_template_queries
from app.qc import templates as qc_templates
from app.qc.models import ProductQcTemplate, QcTestDefinition
from app.security.models import ESignature

PASSWORD = "radiopharma-demo"


def actor(username: str):
    return actor_from_user(current_app.appbuilder.sm.find_user(username=username))


def product(code: str) -> Product:
    return db.session.execute(select(Product).where(Product.code == code)).scalar_one()


def test_every_seeded_product_has_exactly_one_signed_active_template(app_ctx):
    for p in db.session.execute(select(Product)).scalars():
        active = qc_template_queries.active_template(p.id)
        assert active is not None, p.code
        assert active.activation_signature_id is not None
        sig = db.session.get(ESignature, active.activation_signature_id)
        assert sig.scope == "QC_TEMPLATE_ACTIVATION" and "Aziz" in sig.signer_name


def test_fdg_preset_reads_like_the_qc_document(app_ctx):
    lines = qc_template_queries.active_template(product("FDG").id).lines
    by_code = {ln.test_definition.code: qc_template_queries.line_criteria(ln)[0] for ln in lines}
    assert by_code["PH"] == "4.5–8.5 (result rounded to 1 decimal)"
    assert by_code["RCP"] == "≥95% (result rounded to 1 decimal)"
    assert by_code["RNID"] == "105–115 min (result rounded to 1 decimal)"
    assert by_code["ENDOTOXIN"] == "< 175/15 mL = 11.7 EU/mL (result rounded to 1 decimal)"
    assert by_code["K222"] == "≤ 2.2/15 mL = 0.147 mg/mL (result rounded to 3 decimals)"
    assert by_code["ACETONITRILE"] == "≤410 ppm (result rounded to a whole number)"
    assert [ln.test_definition.code for ln in lines][:5] == ["VISUAL", "PH", "RNID", "RN_GAMMA", "RCI"]
    timings = {ln.test_definition.code: ln.timing for ln in lines}
    assert timings["STERILITY"] == "AFTER_RELEASE" and timings["RNP"] == "AFTER_RELEASE"
    psma = {
        ln.test_definition.code: qc_template_queries.line_criteria(ln)[0]
        for ln in qc_template_queries.active_template(product("PSMA11").id).lines
    }
    assert psma["RNID"] == "64.4–71.2 min (result rounded to 1 decimal)"


def test_database_refuses_a_second_active_template(app_ctx):
    fdg = product("FDG")
    active = qc_template_queries.active_template(fdg.id)
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(
            text(
                "INSERT INTO product_qc_template (product_id, version, status, effective_from, "
                "activation_signature_id) VALUES (:p, 99, 'ACTIVE', now(), :s)"
            ),
            {"p": fdg.id, "s": active.activation_signature_id},
        )


def test_database_refuses_changes_to_lines_of_a_signed_version(app_ctx):
    active = qc_template_queries.active_template(product("FDG").id)
    with pytest.raises(DBAPIError), db.session.begin_nested():
        db.session.execute(
            text("UPDATE product_qc_template_line SET is_required = false WHERE template_id = :t"),
            {"t": active.id},
        )
    with pytest.raises(DBAPIError), db.session.begin_nested():
        db.session.execute(
            text(
                "UPDATE qc_spec_rule SET min_value = 1 WHERE id IN "
                "(SELECT spec_rule_id FROM product_qc_template_line WHERE template_id = :t)"
            ),
            {"t": active.id},
        )


def test_new_version_copies_active_then_activation_retires_previous(app_ctx):
    fdg = product("FDG")
    old = qc_template_queries.active_template(fdg.id)
    manager = actor("qcmanager")
    draft = qc_templates.create_version(fdg.id, change_summary="tighten pH", actor=manager)
    assert draft.status == "DRAFT" and draft.version == old.version + 1
    assert [ln.test_definition_id for ln in draft.lines] == [ln.test_definition_id for ln in old.lines]
    lines = [qc_template_queries.line_dict(ln) for ln in draft.lines]
    for ln in lines:
        if ln["test_code"] == "PH":
            ln["rule"].update(min_value="5.0", max_value="7.5")
    lines.reverse()
    for position, ln in enumerate(lines, start=1):
        ln["display_order"] = position
    qc_templates.save_draft_lines(fdg.id, draft.id, lines, actor=manager)
    db.session.refresh(draft)
    assert draft.lines[0].test_definition.code == "STERILITY"
    qc_templates.activate(fdg.id, draft.id, password=PASSWORD, meaning="Approved", actor=manager)
    db.session.refresh(old)
    assert old.status == "RETIRED" and old.effective_to is not None
    new_active = qc_template_queries.active_template(fdg.id)
    assert new_active.id == draft.id
    ph = next(ln for ln in new_active.lines if ln.test_definition.code == "PH")
    assert qc_template_queries.line_criteria(ph)[0] == "5–7.5 (result rounded to 1 decimal)"
    actions = set(
        db.session.execute(
            select(AuditLog.action).where(
                AuditLog.entity_type == "ProductQcTemplate",
                AuditLog.entity_id.in_([str(old.id), str(draft.id)]),
            )
        ).scalars()
    )
    assert {"CREATE_VERSION", "EDIT_LINES", "SIGN", "ACTIVATE", "RETIRE"} <= actions


def test_activation_with_wrong_password_changes_nothing(app_ctx):
    fdg = product("FDG")
    old_id = qc_template_queries.active_template(fdg.id).id
    manager = actor("qcmanager")
    draft = qc_templates.create_version(fdg.id, actor=manager)
    with pytest.raises(DomainError) as e:
        qc_templates.activate(fdg.id, draft.id, password="wrong-password", actor=manager)
    assert e.value.code == "SIGNATURE_INVALID"
    assert qc_template_queries.active_template(fdg.id).id == old_id


def test_admin_may_activate_with_e_signature(app_ctx):
    fdg = product("FDG")
    draft = qc_templates.create_version(fdg.id, actor=actor("qcmanager"))
    admin = actor("admin")
    with pytest.raises(DomainError) as e:
        qc_templates.activate(fdg.id, draft.id, password="wrong-password", actor=admin)
    assert e.value.code == "SIGNATURE_INVALID"
    tpl = qc_templates.activate(fdg.id, draft.id, password=PASSWORD, actor=admin)
    assert (
        tpl.status == "ACTIVE"
        and db.session.get(ESignature, tpl.activation_signature_id).signer_id == admin.user_id
    )


def test_cu64_window_in_hours_on_a_minutes_test_is_refused_when_saved(app_ctx):
    fdg = product("FDG")  # F-18: 109.77 min
    draft = qc_templates.create_version(fdg.id, actor=actor("qcmanager"))
    lines = [qc_template_queries.line_dict(ln) for ln in draft.lines]
    for ln in lines:
        if ln["test_code"] == "RNID":
            ln["rule"].update(min_value="1.75", max_value="1.9")  # hours, on a test in minutes
    with pytest.raises(DomainError) as e:
        qc_templates.save_draft_lines(fdg.id, draft.id, lines, actor=actor("qcmanager"))
    assert e.value.code == "UNIT_MISMATCH" and "109.8 min" in e.value.user_message


def test_only_a_qc_manager_activates(app_ctx):
    fdg = product("FDG")
    draft = qc_templates.create_version(fdg.id, actor=actor("qcmanager"))
    with pytest.raises(DomainError) as e:
        qc_templates.activate(fdg.id, draft.id, password=PASSWORD, actor=actor("qc"))
    assert e.value.status == 403


def test_one_draft_at_a_time_and_signed_versions_are_locked(app_ctx):
    fdg = product("FDG")
    manager = actor("qcmanager")
    qc_templates.create_version(fdg.id, actor=manager)
    with pytest.raises(DomainError) as e:
        qc_templates.create_version(fdg.id, actor=manager)
    assert e.value.code == "QC_DRAFT_EXISTS"
    active = qc_template_queries.active_template(fdg.id)
    with pytest.raises(DomainError) as e:
        qc_templates.save_draft_lines(fdg.id, active.id, [], actor=manager)
    assert e.value.code == "QC_TEMPLATE_LOCKED"


@pytest.mark.parametrize(
    "bad_line",
    [
        {"test_code": "NOPE"},
        {"test_code": "PH", "rule": {"rule_type": "RANGE", "min_value": "9", "max_value": "1"}},
        {"test_code": "PH", "rule": {"rule_type": "MIN", "min_value": "abc"}},
        {"test_code": "VISUAL", "rule": {"rule_type": "MIN", "min_value": "1"}},
        {"test_code": "PH", "timing": "SOMETIME"},
        "not an object",
    ],
)
def test_bad_lines_are_422(app_ctx, bad_line):
    fdg = product("FDG")
    draft = qc_templates.create_version(fdg.id, actor=actor("qcmanager"))
    with pytest.raises(DomainError) as e:
        qc_templates.save_draft_lines(fdg.id, draft.id, [bad_line], actor=actor("qcmanager"))
    assert e.value.status == 422


def test_retire_needs_reason_and_leaves_no_active(app_ctx):
    nh3 = product("NH3")
    active = qc_template_queries.active_template(nh3.id)
    with pytest.raises(DomainError):
        qc_templates.retire(nh3.id, active.id, reason=" ", actor=actor("qcmanager"))
    qc_templates.retire(nh3.id, active.id, reason="Product discontinued", actor=actor("qcmanager"))
    assert qc_template_queries.active_template(nh3.id) is None


def test_catalog_create_unique_code_and_locked_judgement_fields(app_ctx):
    manager = actor("qcmanager")
    item = qc_catalog.create_test_definition(
        {
            "code": "osmolality",
            "name_en": "Osmolality",
            "result_type": "NUMERIC",
            "unit": "mOsm/kg",
            "decimal_places": 0,
        },
        actor=manager,
    )
    assert item.code == "OSMOLALITY"
    with pytest.raises(DomainError) as e:
        qc_catalog.create_test_definition({"code": "OSMOLALITY", "name_en": "x"}, actor=manager)
    assert e.value.status == 422 and "code" in e.value.details["fields"]
    ph = db.session.execute(select(QcTestDefinition).where(QcTestDefinition.code == "PH")).scalar_one()
    with pytest.raises(DomainError) as e:
        qc_catalog.update_test_definition(ph.id, {"decimal_places": 2}, actor=manager)
    assert e.value.code == "QC_TEST_IN_USE" and "FDG" in e.value.user_message
    qc_catalog.update_test_definition(ph.id, {"name_ar": "الرقم الهيدروجيني"}, actor=manager)
    assert ph.name_ar == "الرقم الهيدروجيني"
    with pytest.raises(DomainError):
        qc_catalog.create_test_definition({"code": "OPT", "name_en": "Opt", "result_type": "OPTION_LIST"})


def test_seed_is_idempotent(app_ctx):
    from seeds import qc as qc_seed

    before = db.session.execute(select(ProductQcTemplate.id)).scalars().all()
    assert qc_seed.seed() == {"qc_tests": 0, "qc_templates": 0}
    assert db.session.execute(select(ProductQcTemplate.id)).scalars().all() == before
    assert (
        Decimal("4.5") == qc_template_queries.active_template(product("FDG").id).lines[1].spec_rule.min_value
    )
