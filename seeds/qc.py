"""QC test catalog and one ACTIVE QC template per product (runs for demo and non-demo alike).

Presets follow the Ph. Eur. monographs a PET site tests against: Fludeoxyglucose (18F) injection
(1325), Sodium fluoride (18F) injection (2100) and Gallium (68Ga) PSMA-11 injection (3044). Every
rule names its source in `source=` (kept in the seed, shown to whoever edits it):
- "Ph. Eur. 1325": the FDG tests as the issue-13 review quoted them (appearance, identity by
  half-life 105–115 min and by gamma spectrometry 0.511 MeV / 1.022 MeV sum peak, pH 4.5–8.5,
  radiochemical purity, [18F]FDM, ClDG, aminopolyether 2.2 mg/V, residual solvents);
- "Ph. Eur. 0125 / USP <85>": bacterial endotoxins < 175/V EU/mL, V the maximum recommended dose
  volume in mL (the product's max_volume_ml), for every injection;
- "Ph. Eur. 5.4 (ICH Q3C)": residual solvent limits (acetonitrile 410 ppm, ethanol 5000 ppm);
- "site (QC document section 5)": values the site set, not monograph text (alert limits, filter
  bubble point, RNP after decay);
- PSMA and NaF limits kept from the earlier preset are marked "to verify against 3044 / 2100":
  the monograph texts were not available when this seed was reviewed, so they are not claimed.
Products without a preset get a generic panel for their nuclide (identity window = the nuclide's
half-life ±5 % in minutes, the test's unit). A QC Manager refines every preset.

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
from app.qc.domain.rules import upper_limit
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
        "EU/mL",
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
    (
        "FDM",
        "2-[18F]Fluoro-2-deoxy-D-mannose",
        "فلورو ديوكسي مانوز [18F]",
        "HPLC / radio-TLC",
        "كروماتوغرافيا",
        "NUMERIC",
        "%",
        1,
        None,
    ),
    (
        "CLDG",
        "2-Chloro-2-deoxy-D-glucose (ClDG)",
        "كلورو ديوكسي غلوكوز",
        "HPLC (PAD)",
        "كروماتوغرافيا سائلة",
        "NUMERIC",
        "mg/mL",
        3,
        None,
    ),
    (
        "K222",
        "Aminopolyether (Kryptofix 2.2.2)",
        "كريبتوفيكس 2.2.2 (كمي)",
        "TLC spot test, semi-quantitative",
        "اختبار البقعة",
        "NUMERIC",
        "mg/mL",
        3,
        None,
    ),
    (
        "ACETONITRILE",
        "Residual Acetonitrile",
        "الأسيتونيتريل المتبقي",
        "Gas chromatography",
        "كروماتوغرافيا الغاز",
        "NUMERIC",
        "ppm",
        0,
        None,
    ),
    (
        "ETHANOL_PPM",
        "Residual Ethanol",
        "الإيثانول المتبقي",
        "Gas chromatography",
        "كروماتوغرافيا الغاز",
        "NUMERIC",
        "ppm",
        0,
        None,
    ),
)


def rule(rule_type: str, *, source: str, **kw: Any) -> dict[str, Any]:
    """A criterion with the text it comes from (`source` stays in the seed; the template ignores it)."""
    return {"rule_type": rule_type, "source": source, **kw}


def line(code: str, rule_: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    return {"test_code": code, "rule": rule_, **kw}


EUR_FDG = "Ph. Eur. 1325"
# Ga-68 PSMA-11 (Ph. Eur. 3044) and NaF (Ph. Eur. 2100): the monograph texts were not at hand when these
# presets were checked (issue 13 item 6). Each value says what it was checked against instead:
# - USP_NAF: USP monograph "Sodium Fluoride F 18 Injection" (half-life 105-115 min, 175/V endotoxins);
# - GA68_SPEC: the published release specification of a 68Ga-DOTA peptide built on the Ph. Eur.
#   requirements for 68Ga preparations (Pharmaceuticals 2021;14:575, Table 1: pH 4.0-8.0, half-life
#   62-74 min, free/colloidal 68Ga <= 3 %, ethanol <= 10 % V/V, 68Ge <= 0.001 % after >= 48 h);
# - SITE: the site's own choice (QC document section 5), stated as such.
# Before the preset is activated for a product the QC Manager compares each line with the current
# monograph text; where the monograph differs, the monograph wins.
EUR_PSMA = "Ph. Eur. 3044 (text not checked here)"
EUR_NAF = "Ph. Eur. 2100 (text not checked here)"
USP_NAF = "USP Sodium Fluoride F 18 Injection"
GA68_SPEC = "published 68Ga release specification per Ph. Eur. (Pharmaceuticals 2021;14:575, Table 1)"
ENDOTOXIN_SOURCE = "Ph. Eur. 0125 / USP <85>: < 175/V EU/mL, V = max recommended dose volume (mL)"
SITE = "site (QC document section 5)"


VISUAL_LINE = line(
    "VISUAL",
    rule(
        "PASS_FAIL_ONLY",
        source=SITE,
        text_criteria_en="Clear, colourless, free of visible particles",
        text_criteria_ar="شفاف، عديم اللون، خالٍ من الجسيمات المرئية",
    ),
)
STERILITY_LINE = line(
    "STERILITY",
    rule(
        "PASS_FAIL_ONLY",
        source="Ph. Eur. 2.6.1 (sterility), read after release",
        text_criteria_en="Sterile (no growth in 14 days)",
        text_criteria_ar="معقم (لا نمو خلال 14 يوماً)",
    ),
    timing="AFTER_RELEASE",
)
# Strict "<" and per volume: with V = 15 mL the limit reads "< 175/15 mL = 11.7 EU/mL".
ENDOTOXIN_LINE = line("ENDOTOXIN", rule("LT", max_value=D("175"), per_volume=True, source=ENDOTOXIN_SOURCE))
FILTER_LINE = line("FILTER_INTEGRITY", rule("MIN", min_value=D("50"), source=SITE), attachment_required=True)

PRESETS: dict[str, list[dict[str, Any]]] = {
    # Fludeoxyglucose (18F) injection, Ph. Eur. 1325 (with the site's QC document section 5).
    "FDG": [
        line(
            "VISUAL",
            rule(
                "PASS_FAIL_ONLY",
                source=EUR_FDG + " (characters)",
                text_criteria_en="Clear, colourless or slightly yellow solution",
                text_criteria_ar="محلول شفاف، عديم اللون أو مصفر قليلاً",
            ),
        ),
        line("PH", rule("RANGE", min_value=D("4.5"), max_value=D("8.5"), source=EUR_FDG)),
        line(
            "RNID",
            rule(
                "RANGE",
                min_value=D("105"),
                max_value=D("115"),
                source=EUR_FDG + " (identification A, half-life)",
            ),
        ),
        line(
            "RN_GAMMA",
            rule(
                "EQUAL",
                target_value=D("511"),
                tolerance=D("10"),
                source=EUR_FDG + " (identification B: 0.511 MeV; a 1.022 MeV sum peak may be seen)",
            ),
        ),
        line(
            "RCI",
            rule(
                "PASS_FAIL_ONLY",
                source=EUR_FDG + " (identification C)",
                text_criteria_en="Principal peak at the retention time of the FDG reference",
                text_criteria_ar="القمة الرئيسية عند زمن احتجاز مرجع FDG",
            ),
        ),
        line(
            "RCP",
            rule(
                "MIN",
                min_value=D("95"),
                alert_min=D("97"),
                source=EUR_FDG + " ([18F]FDG + [18F]FDM); alert: " + SITE,
            ),
            attachment_required=True,
        ),
        line("FDM", rule("MAX", max_value=D("10"), source=EUR_FDG + " ([18F]FDM, % of total radioactivity)")),
        line(
            "CLDG", rule("MAX", max_value=D("0.5"), per_volume=True, source=EUR_FDG + " (ClDG max 0.5 mg/V)")
        ),
        line(
            "K222",
            rule(
                "MAX", max_value=D("2.2"), per_volume=True, source=EUR_FDG + " (aminopolyether max 2.2 mg/V)"
            ),
        ),
        line(
            "ACETONITRILE",
            rule("MAX", max_value=D("410"), source="Ph. Eur. 5.4 (ICH Q3C class 2)"),
            attachment_required=True,
        ),
        line("ETHANOL_PPM", rule("MAX", max_value=D("5000"), source="Ph. Eur. 5.4 (ICH Q3C class 3)")),
        ENDOTOXIN_LINE,
        FILTER_LINE,
        line(
            "RNP",
            rule("MIN", min_value=D("99.9"), source=EUR_FDG + " (radionuclidic purity)"),
            timing="AFTER_RELEASE",
        ),
        STERILITY_LINE,
    ],
    # Gallium (68Ga) PSMA-11 injection, Ph. Eur. 3044.
    "PSMA": [
        VISUAL_LINE,
        line("PH", rule("RANGE", min_value=D("4.0"), max_value=D("8.0"), source=GA68_SPEC + "; " + EUR_PSMA)),
        # >= 95 % is the site's figure for PSMA-11 by HPLC (the cited 68Ga specification computes its
        # own RCP differently, >= 91 % as (100 - free/colloidal) x HPLC fraction): SITE until checked.
        line("RCP", rule("MIN", min_value=D("95"), source=SITE + "; " + EUR_PSMA), attachment_required=True),
        line("RCP_TLC", rule("MAX", max_value=D("3"), source=GA68_SPEC + " (free and colloidal 68Ga, iTLC)")),
        # Ga-68 T½ 67.7 min ±5 %: a window inside the 62-74 min of GA68_SPEC; the narrower window is
        # the site's choice.
        line(
            "RNID",
            rule(
                "RANGE",
                min_value=D("64.4"),
                max_value=D("71.2"),
                source=SITE + " (inside 62-74 min of " + GA68_SPEC + ")",
            ),
        ),
        line("ETHANOL", rule("MAX", max_value=D("10"), source=GA68_SPEC + " (ethanol, % V/V)")),
        ENDOTOXIN_LINE,
        FILTER_LINE,
        line(
            "GE68_BREAKTHROUGH",
            rule(
                "MAX", max_value=D("0.001"), source=GA68_SPEC + " (68Ge, % of total radioactivity, >= 48 h)"
            ),
            timing="AFTER_RELEASE",
        ),
        STERILITY_LINE,
    ],
    # Sodium fluoride (18F) injection, Ph. Eur. 2100.
    "NAF": [
        VISUAL_LINE,
        # pH 4.5-8 is what the US product labelling of Sodium Fluoride F 18 Injection states; not
        # checked against USP or Ph. Eur. 2100 text here.
        line(
            "PH",
            rule(
                "RANGE",
                min_value=D("4.5"),
                max_value=D("8.0"),
                source=SITE + " (as US labelling); " + EUR_NAF,
            ),
        ),
        # >= 95 % as [18F]fluoride: site figure, to compare with USP/Ph. Eur. 2100 before activation.
        line("RCP", rule("MIN", min_value=D("95"), source=SITE + " ([18F]fluoride); " + EUR_NAF)),
        line(
            "RNID",
            rule(
                "RANGE",
                min_value=D("105"),
                max_value=D("115"),
                source=USP_NAF + " (half-life, radionuclide identification A)",
            ),
        ),
        line(
            "RN_GAMMA",
            # 0.511 MeV annihilation photons (1.022 MeV sum peak) identify any positron emitter; the
            # ±10 keV window is the site's spectrometer tolerance.
            rule(
                "EQUAL",
                target_value=D("511"),
                tolerance=D("10"),
                source=SITE + " (0.511 MeV annihilation peak, ±10 keV)",
            ),
        ),
        ENDOTOXIN_LINE,
        FILTER_LINE,
        line(
            "RNP",
            # 99.9 % is the F-18 figure of Ph. Eur. 1325 (FDG); applied to NaF by the site until 2100 is checked.
            rule(
                "MIN",
                min_value=D("99.9"),
                source=SITE + " (as " + EUR_FDG + " radionuclidic purity); " + EUR_NAF,
            ),
            timing="AFTER_RELEASE",
        ),
        STERILITY_LINE,
    ],
    # Ammonia (13N) injection, Ph. Eur. 1492: a 10-minute half-life means most tests finish after
    # the dose is given; only the quick ones gate release.
    "NH3": [
        VISUAL_LINE,
        line("PH", rule("RANGE", min_value=D("4.5"), max_value=D("7.5"), source="Ph. Eur. 1492")),
        FILTER_LINE,
        line("RCP", rule("MIN", min_value=D("95"), source="Ph. Eur. 1492"), timing="AFTER_RELEASE"),
        line(
            "RNID",
            rule("RANGE", min_value=D("9.5"), max_value=D("10.5"), source="Ph. Eur. 1492 (half-life)"),
            timing="AFTER_RELEASE",
        ),
        dict(ENDOTOXIN_LINE, timing="AFTER_RELEASE"),
        STERILITY_LINE,
    ],
}
PRESETS["PSMA11"] = PRESETS["PSMA"]


def half_life_window_min(half_life_s: Any) -> tuple[D, D]:
    """The generic identity window: the nuclide's half-life ±5 %, in minutes (the RNID test's unit).

    Cu-64 (12.701 h) gives 724.0–800.2 min; a window written in hours (12.2–13.5) on a test in
    minutes failed every correct reading and is now refused when a template is saved.
    """
    minutes = D(str(half_life_s)) / 60
    return round(minutes * D("0.95"), 1), round(minutes * D("1.05"), 1)


def generic_preset(product: Product) -> list[dict[str, Any]]:
    """A sensible starting panel for a product without a preset; the QC Manager refines it."""
    lines = [
        VISUAL_LINE,
        line("PH", rule("RANGE", min_value=D("4.5"), max_value=D("8.5"), source=SITE + ", generic")),
        line("RCP", rule("MIN", min_value=D("95"), source=SITE + ", generic")),
    ]
    if product.nuclide is not None:
        lo, hi = half_life_window_min(product.nuclide.half_life_s)
        lines.append(
            line("RNID", rule("RANGE", min_value=lo, max_value=hi, source="nuclide half-life ±5 % (site)"))
        )
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
    if rule is None or rule.rule_type not in ("MIN", "MAX", "GT", "LT", "RANGE", "EQUAL"):
        return {"numeric_value": "1", "pass_fail_value": "PASS"}
    if rule.rule_type == "RANGE":
        value = (rule.min_value + rule.max_value) / 2
    elif rule.rule_type in ("MAX", "LT"):
        top = upper_limit(rule) or D(0)
        value = min(top, rule.alert_max or top) / 4
    elif rule.rule_type == "GT":
        value = rule.min_value + 1
    elif rule.rule_type == "MIN":
        value = max(rule.min_value, rule.alert_min or rule.min_value) + (
            D("0.1") if rule.min_value < 99 else 0
        )
        value = min(value, D("99.99")) if result.unit == "%" else value
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
    take_samples(batch_id, actor=who)
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


def take_samples(batch_id: int, *, actor: Any) -> int:
    """Record one sample of each kind the batch's QC tests are measured on (none already recorded)."""
    from app.qc import samples as qc_samples
    from app.qc import service as qc
    from app.qc.domain import samples as sample_rules

    _, session = qc.get_session(batch_id)
    have = {s.sample_type for s in qc.batch_samples(batch_id)}
    needed = {sample_rules.sample_type_for(r.test_code) for r in session.results}
    notes = {
        "RELEASE_TESTING": "1.0 mL drawn into a shielded vial after the final filter.",
        "ENDOTOXIN": "0.1 mL into a pyrogen-free tube for the LAL test.",
        "STERILITY": "0.5 mL aseptically into culture media (read after 14 days).",
    }
    taken = 0
    for kind in ("RELEASE_TESTING", "ENDOTOXIN", "STERILITY"):
        if kind in needed and kind not in have:
            qc_samples.record_sample(batch_id, kind, note=notes[kind], actor=actor)
            taken += 1
    return taken


def _failing_entry(result: Any) -> dict[str, Any]:
    if result.result_type != "NUMERIC":
        return {
            "pass_fail_value": "FAIL",
            **({"text_value": "Does not conform"} if result.result_type != "PASS_FAIL" else {}),
        }
    rule = result.rule()
    if rule and rule.max_value is not None:
        return {"numeric_value": str((upper_limit(rule) or rule.max_value) * 2)}
    if rule and rule.min_value is not None:
        return {"numeric_value": str(rule.min_value / 2)}
    return {"numeric_value": "0", "pass_fail_value": "FAIL"}
