"""QC test catalog and one ACTIVE QC template per product (runs for demo and non-demo alike).

Presets follow the Ph. Eur. monographs a PET site tests against: Fludeoxyglucose (18F) injection
(0.1325), Sodium fluoride (18F) injection (2100) and Gallium (68Ga) PSMA-11 injection (3044), with
the FDG panel of the QC document section 5 (Visual, pH 4.5–8.5, RCP ≥95 %, identity 105–115 min,
endotoxin ≤175 EU/V). Products without a preset get a generic panel for their nuclide.

Idempotent: tests are added by code when missing (never changed); a product that already has any
template version is left alone. Templates are activated through the normal service with the QC
Manager's e-signature (the demo `qcmanager`), so the seed leaves the same records a person would.
"""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.core.actor import SYSTEM, actor_from_user
from app.core.extensions import db
from app.masterdata.models import Product
from app.qc import catalog as qc_catalog
from app.qc import templates as qc_templates
from app.qc.models import ProductQcTemplate, QcTestDefinition

# code, name_en, name_ar, method_en, method_ar, result_type, unit, decimal places, options
CATALOG: tuple[tuple[Any, ...], ...] = (
    (
        "VISUAL",
        "Visual Inspection",
        "الفحص البصري",
        "Visual, behind lead glass",
        "فحص بصري خلف زجاج رصاصي",
        "PASS_FAIL",
        None,
        None,
        None,
    ),
    (
        "APPEARANCE",
        "Appearance",
        "المظهر",
        "Visual",
        "فحص بصري",
        "OPTION_LIST",
        None,
        None,
        "Clear, colourless\nClear, slightly yellow\nTurbid\nParticles visible",
    ),
    ("PH", "pH", "الأس الهيدروجيني", "pH meter", "مقياس الأس الهيدروجيني", "NUMERIC", None, 1, None),
    (
        "RCP",
        "Radiochemical Purity",
        "النقاء الكيميائي الإشعاعي",
        "HPLC",
        "كروماتوغرافيا سائلة عالية الأداء",
        "NUMERIC",
        "%",
        1,
        None,
    ),
    (
        "RCP_TLC",
        "Radiochemical Impurities (free and colloidal)",
        "الشوائب الكيميائية الإشعاعية",
        "Radio-TLC",
        "كروماتوغرافيا الطبقة الرقيقة الإشعاعية",
        "NUMERIC",
        "%",
        1,
        None,
    ),
    (
        "RCI",
        "Radiochemical Identity",
        "الهوية الكيميائية الإشعاعية",
        "HPLC (retention time)",
        "كروماتوغرافيا سائلة (زمن الاحتجاز)",
        "PASS_FAIL",
        None,
        None,
        None,
    ),
    (
        "RNID",
        "Radionuclidic Identity (Half-life)",
        "الهوية النويدية المشعة (عمر النصف)",
        "Dose calibrator",
        "معاير الجرعات",
        "NUMERIC",
        "min",
        1,
        None,
    ),
    (
        "RN_GAMMA",
        "Radionuclidic Identity (Gamma Spectrum)",
        "الهوية النويدية المشعة (طيف غاما)",
        "Gamma spectroscopy",
        "مطيافية غاما",
        "NUMERIC",
        "keV",
        0,
        None,
    ),
    (
        "RNP",
        "Radionuclidic Purity",
        "النقاء النويدي المشع",
        "Gamma spectroscopy (after decay)",
        "مطيافية غاما (بعد الاضمحلال)",
        "NUMERIC",
        "%",
        2,
        None,
    ),
    (
        "GE68_BREAKTHROUGH",
        "Germanium-68 Breakthrough",
        "اختراق الجرمانيوم-68",
        "Gamma spectroscopy (48 h)",
        "مطيافية غاما (بعد 48 ساعة)",
        "NUMERIC",
        "%",
        4,
        None,
    ),
    (
        "ENDOTOXIN",
        "Bacterial Endotoxins",
        "الذيفانات الداخلية البكتيرية",
        "LAL (kinetic chromogenic)",
        "اختبار LAL",
        "NUMERIC",
        "EU/V",
        1,
        None,
    ),
    (
        "STERILITY",
        "Sterility",
        "العقامة",
        "Direct inoculation, 14 days",
        "الزرع المباشر، 14 يوماً",
        "PASS_FAIL",
        None,
        None,
        None,
    ),
    (
        "FILTER_INTEGRITY",
        "Filter Integrity (Bubble Point)",
        "سلامة المرشح (نقطة الفقاعة)",
        "Bubble point test",
        "اختبار نقطة الفقاعة",
        "NUMERIC",
        "psi",
        0,
        None,
    ),
    (
        "KRYPTOFIX",
        "Kryptofix 2.2.2",
        "كريبتوفيكس 2.2.2",
        "TLC spot test",
        "اختبار البقعة بالطبقة الرقيقة",
        "PASS_FAIL",
        None,
        None,
        None,
    ),
    (
        "RESIDUAL_SOLVENTS",
        "Residual Solvents",
        "المذيبات المتبقية",
        "Gas chromatography",
        "كروماتوغرافيا الغاز",
        "PASS_FAIL",
        None,
        None,
        None,
    ),
    (
        "ETHANOL",
        "Ethanol Content",
        "محتوى الإيثانول",
        "Gas chromatography",
        "كروماتوغرافيا الغاز",
        "NUMERIC",
        "% v/v",
        1,
        None,
    ),
    ("VOLUME", "Volume", "الحجم", "Calibrated syringe", "محقنة معايرة", "NUMERIC", "mL", 1, None),
)


def rule(rule_type: str, **kw: Any) -> dict[str, Any]:
    return {"rule_type": rule_type, **kw}


def line(code: str, rule_: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    return {"test_code": code, "rule": rule_, **kw}


VISUAL_LINE = line(
    "VISUAL",
    rule(
        "PASS_FAIL_ONLY",
        text_criteria_en="Clear, colourless, free of visible particles",
        text_criteria_ar="شفاف، عديم اللون، خالٍ من الجسيمات المرئية",
    ),
)
STERILITY_LINE = line(
    "STERILITY",
    rule(
        "PASS_FAIL_ONLY",
        text_criteria_en="Sterile (no growth in 14 days)",
        text_criteria_ar="معقم (لا نمو خلال 14 يوماً)",
    ),
    timing="AFTER_RELEASE",
)
ENDOTOXIN_LINE = line("ENDOTOXIN", rule("MAX", max_value=D("175"), alert_max=D("100")))
FILTER_LINE = line("FILTER_INTEGRITY", rule("MIN", min_value=D("50")), attachment_required=True)

PRESETS: dict[str, list[dict[str, Any]]] = {
    # QC document section 5, completed with the other Ph. Eur. 0.1325 tests a site runs.
    "FDG": [
        VISUAL_LINE,
        line("PH", rule("RANGE", min_value=D("4.5"), max_value=D("8.5"))),
        line("RCP", rule("MIN", min_value=D("95"), alert_min=D("97")), attachment_required=True),
        line("RNID", rule("RANGE", min_value=D("105"), max_value=D("115"))),
        ENDOTOXIN_LINE,
        line(
            "KRYPTOFIX",
            rule(
                "PASS_FAIL_ONLY",
                text_criteria_en="<50 µg/mL (spot test)",
                text_criteria_ar="أقل من 50 ميكروغرام/مل (اختبار البقعة)",
            ),
        ),
        line(
            "RESIDUAL_SOLVENTS",
            rule(
                "PASS_FAIL_ONLY",
                text_criteria_en="Acetonitrile ≤410 ppm; ethanol ≤5000 ppm",
                text_criteria_ar="الأسيتونيتريل ≤410 جزء في المليون؛ الإيثانول ≤5000 جزء في المليون",
            ),
            attachment_required=True,
        ),
        FILTER_LINE,
        line("RNP", rule("MIN", min_value=D("99.9")), timing="AFTER_RELEASE"),
        STERILITY_LINE,
    ],
    # Gallium (68Ga) PSMA-11 injection, Ph. Eur. 3044.
    "PSMA": [
        VISUAL_LINE,
        line("PH", rule("RANGE", min_value=D("4.0"), max_value=D("8.0"))),
        line("RCP", rule("MIN", min_value=D("95")), attachment_required=True),
        line("RCP_TLC", rule("MAX", max_value=D("3"))),
        line("RNID", rule("RANGE", min_value=D("64.4"), max_value=D("71.2"))),
        line("ETHANOL", rule("MAX", max_value=D("10"))),
        ENDOTOXIN_LINE,
        FILTER_LINE,
        line("GE68_BREAKTHROUGH", rule("MAX", max_value=D("0.001")), timing="AFTER_RELEASE"),
        STERILITY_LINE,
    ],
    # Sodium fluoride (18F) injection, Ph. Eur. 2100.
    "NAF": [
        VISUAL_LINE,
        line("PH", rule("RANGE", min_value=D("4.5"), max_value=D("8.0"))),
        line("RCP", rule("MIN", min_value=D("95"))),
        line("RNID", rule("RANGE", min_value=D("105"), max_value=D("115"))),
        line("RN_GAMMA", rule("EQUAL", target_value=D("511"), tolerance=D("10"))),
        ENDOTOXIN_LINE,
        FILTER_LINE,
        line("RNP", rule("MIN", min_value=D("99.9")), timing="AFTER_RELEASE"),
        STERILITY_LINE,
    ],
    # Ammonia (13N) injection, Ph. Eur. 1492: a 10-minute half-life means most tests finish after
    # the dose is given; only the quick ones gate release.
    "NH3": [
        VISUAL_LINE,
        line("PH", rule("RANGE", min_value=D("4.5"), max_value=D("7.5"))),
        FILTER_LINE,
        line("RCP", rule("MIN", min_value=D("95")), timing="AFTER_RELEASE"),
        line("RNID", rule("RANGE", min_value=D("9.5"), max_value=D("10.5")), timing="AFTER_RELEASE"),
        dict(ENDOTOXIN_LINE, timing="AFTER_RELEASE"),
        STERILITY_LINE,
    ],
}
PRESETS["PSMA11"] = PRESETS["PSMA"]

# Half-life windows (min) for the generic identity test by nuclide (Ph. Eur. style ±5 %).
_HALF_LIFE_WINDOWS = {
    "F-18": ("105", "115"),
    "Ga-68": ("64.4", "71.2"),
    "C-11": ("19.4", "21.4"),
    "N-13": ("9.5", "10.5"),
    "Cu-64": ("12.2", "13.5"),
}


def generic_preset(product: Product) -> list[dict[str, Any]]:
    """A sensible starting panel for a product without a preset; the QC Manager refines it."""
    lines = [
        VISUAL_LINE,
        line("PH", rule("RANGE", min_value=D("4.5"), max_value=D("8.5"))),
        line("RCP", rule("MIN", min_value=D("95"))),
    ]
    window = _HALF_LIFE_WINDOWS.get(getattr(product.nuclide, "symbol", None) or "")
    if window:
        lines.append(line("RNID", rule("RANGE", min_value=D(window[0]), max_value=D(window[1]))))
    lines += [ENDOTOXIN_LINE, FILTER_LINE, STERILITY_LINE]
    return lines


def seed_catalog() -> int:
    existing = set(db.session.execute(select(QcTestDefinition.code)).scalars())
    created = 0
    for code, name_en, name_ar, method_en, method_ar, result_type, unit, places, options in CATALOG:
        if code in existing:
            continue
        qc_catalog.create_test_definition(
            {
                "code": code,
                "name_en": name_en,
                "name_ar": name_ar,
                "method_en": method_en,
                "method_ar": method_ar,
                "result_type": result_type,
                "unit": unit,
                "decimal_places": places,
                "options_text": options,
            },
            actor=SYSTEM,
            commit=False,
        )
        created += 1
    db.session.flush()
    return created


def _signer():
    """The QC Manager who approves the seeded presets (the demo `qcmanager`)."""
    sm = current_app.appbuilder.sm
    user = sm.find_user(username="qcmanager")
    if user is None:
        raise RuntimeError("seed the demo users before the QC templates (qcmanager signs them)")
    return actor_from_user(user)


def seed_templates() -> int:
    products = db.session.execute(select(Product).order_by(Product.code)).scalars().all()
    with_templates = set(db.session.execute(select(ProductQcTemplate.product_id).distinct()).scalars())
    created = 0
    for product in products:
        if product.id in with_templates:
            continue
        preset = PRESETS.get(product.code.upper()) or generic_preset(product)
        lines = [dict(ln) for ln in preset]
        signer = _signer()
        tpl = qc_templates.create_version(
            product.id,
            lines=lines,
            change_summary="Initial QC panel (seeded preset)",
            actor=signer,
            commit=False,
        )
        qc_templates.activate(
            product.id,
            tpl.id,
            password=current_app.config["DEMO_PASSWORD"],
            meaning="Approved as the initial QC panel for this product (seeded preset)",
            actor=signer,
            commit=False,
        )
        created += 1
    return created


def seed() -> dict[str, int]:
    summary = {"qc_tests": seed_catalog(), "qc_templates": seed_templates()}
    db.session.commit()
    return summary


# --- demo QC for seeded batches ---------------------------------------------------------------------


def passing_entry(result: Any) -> dict[str, Any]:
    """A value that meets the row's frozen criterion (demo and tests)."""
    if result.result_type == "PASS_FAIL":
        return {"pass_fail_value": "PASS"}
    if result.result_type in ("TEXT", "OPTION_LIST"):
        options = result.options
        return {"text_value": options[0] if options else "Conforms", "pass_fail_value": "PASS"}
    rule = result.rule()
    if rule is None or rule.rule_type not in ("MIN", "MAX", "RANGE", "EQUAL"):
        return {"numeric_value": "1", "pass_fail_value": "PASS"}
    if rule.rule_type == "RANGE":
        value = (rule.min_value + rule.max_value) / 2
    elif rule.rule_type == "MIN":
        value = max(rule.min_value, rule.alert_min or rule.min_value) + (
            D("0.1") if rule.min_value < 99 else 0
        )
        value = min(value, D("99.99")) if result.unit == "%" else value
    elif rule.rule_type == "MAX":
        value = min(rule.max_value, rule.alert_max or rule.max_value) / 4
    else:
        value = rule.target_value
    places = result.decimal_places if result.decimal_places is not None else 2
    return {"numeric_value": str(round(value, places))}


def run_batch_qc(
    batch_id: int,
    *,
    outcome: str = "PASS",
    analyst: str = "qc",
    reviewer: str = "qcreview",
    failing_code: str | None = None,
    after_release: bool = False,
) -> str:
    """Drive a QC_PENDING batch through QC with the normal services; returns the session status.

    The analyst enters passing values (one failing value on `failing_code` when outcome is FAIL),
    uploads a small PDF where the line asks for one, submits; the reviewer approves (a failed
    session fails the batch). With `after_release`, after-release tests are entered as passing too.
    """
    import io

    from app.qc import attachments as qc_attachments
    from app.qc import service as qc

    sm = current_app.appbuilder.sm
    who = actor_from_user(sm.find_user(username=analyst))
    boss = actor_from_user(sm.find_user(username=reviewer))
    _, session = qc.get_session(batch_id)
    for result in list(session.results):
        if result.timing != "BEFORE_RELEASE" or result.status != "PENDING":
            continue
        data = passing_entry(result)
        if outcome == "FAIL" and result.test_code == (failing_code or "ENDOTOXIN"):
            data = _failing_entry(result)
        qc.record_qc_result(batch_id, result.id, data, actor=who)
        if result.attachment_required and result.attachments_count == 0:
            pdf = io.BytesIO(b"%PDF-1.4\n% demo QC report\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
            qc_attachments.store_attachment(
                batch_id, result.id, pdf, f"{result.test_code.lower()}-report.pdf", actor=who
            )
    qc.submit_session(batch_id, actor=who)
    _, session = qc.get_session(batch_id)
    if session.status == "WAITING_REVIEW":
        qc.review_session(batch_id, "APPROVE", note="Reviewed against the batch record", actor=boss)
    if after_release:
        _, session = qc.get_session(batch_id)
        for result in list(session.results):
            if result.timing == "AFTER_RELEASE" and result.status == "PENDING":
                qc.record_qc_result(batch_id, result.id, passing_entry(result), actor=who)
    return qc.get_session(batch_id)[1].status


def _failing_entry(result: Any) -> dict[str, Any]:
    if result.result_type != "NUMERIC":
        return {
            "pass_fail_value": "FAIL",
            **({"text_value": "Does not conform"} if result.result_type != "PASS_FAIL" else {}),
        }
    rule = result.rule()
    if rule and rule.max_value is not None:
        return {"numeric_value": str(rule.max_value * 2)}
    if rule and rule.min_value is not None:
        return {"numeric_value": str(rule.min_value / 2)}
    return {"numeric_value": "0", "pass_fail_value": "FAIL"}
