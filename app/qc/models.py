"""QC catalog and per-product QC templates (QC document sections 1.1–1.3).

A template version is DRAFT while it is edited, ACTIVE while batches are made from it and RETIRED
afterwards. At most one ACTIVE and one DRAFT version per product are enforced by partial unique
indexes in the database (see migration 0003), not only by code: two QC Managers activating at the
same moment cannot both succeed.

Batch QC records (session, results, value history, attachments, OOS cases) follow below.
"""

from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import relationship

from app.qc.domain.rules import RESULT_TYPES, RULE_TYPES, TIMINGS, SpecRule

TEMPLATE_STATUSES = ("DRAFT", "ACTIVE", "RETIRED")
# Reference data: kept by the test suite's truncation between browser tests (see tests/conftest.py).
SEEDED = {"info": {"seeded": True}}


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class QcTestDefinition(Model):
    """One test of the QC catalog (e.g. PH, RCP, ENDOTOXIN), reused by product templates."""

    __tablename__ = "qc_test_definition"

    id = Column(Integer, primary_key=True)
    code = Column(String(32), unique=True, nullable=False)
    name_en = Column(String(200), nullable=False)
    name_ar = Column(String(200), nullable=True)
    method_en = Column(String(200), nullable=True)
    method_ar = Column(String(200), nullable=True)
    result_type = Column(String(16), nullable=False, server_default="NUMERIC")
    # OPTION_LIST choices, one per line (kept as text so the admin form stays a plain textarea).
    options_text = Column(Text, nullable=True)
    unit = Column(String(32), nullable=True)
    decimal_places = Column(Integer, nullable=True)
    description = Column(Text, nullable=True)
    active = Column(Boolean, nullable=False, server_default=text("true"))
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    updated_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))

    __table_args__ = (
        CheckConstraint(_in("result_type", RESULT_TYPES), name="ck_qc_test_definition_result_type"),
        CheckConstraint(
            "decimal_places IS NULL OR decimal_places BETWEEN 0 AND 6", name="ck_qc_test_definition_places"
        ),
        CheckConstraint("code = upper(code) AND code ~ '^[A-Z0-9_]+$'", name="ck_qc_test_definition_code"),
        SEEDED,
    )

    @property
    def options(self) -> tuple[str, ...]:
        return tuple(line.strip() for line in (self.options_text or "").splitlines() if line.strip())

    def __repr__(self) -> str:
        return f"{self.code} — {self.name_en}"


class QcSpecRule(Model):
    """The acceptance criterion of one template line (owned by that line, copied with its version)."""

    __tablename__ = "qc_spec_rule"

    id = Column(Integer, primary_key=True)
    rule_type = Column(String(16), nullable=False)
    min_value = Column(Numeric(18, 6), nullable=True)
    max_value = Column(Numeric(18, 6), nullable=True)
    target_value = Column(Numeric(18, 6), nullable=True)
    tolerance = Column(Numeric(18, 6), nullable=True)
    # Alert (warning) limits inside the acceptance range: a result there passes but is flagged.
    alert_min = Column(Numeric(18, 6), nullable=True)
    alert_max = Column(Numeric(18, 6), nullable=True)
    text_criteria_en = Column(Text, nullable=True)
    text_criteria_ar = Column(Text, nullable=True)
    fail_if_outside = Column(Boolean, nullable=False, server_default=text("true"))
    # The limit is per dose: divided by the product's max_volume_ml when a batch freezes it (175/V).
    per_volume = Column(Boolean, nullable=False, server_default=text("false"))

    __table_args__ = (
        CheckConstraint(_in("rule_type", RULE_TYPES), name="ck_qc_spec_rule_type"),
        CheckConstraint(
            "NOT per_volume OR (rule_type IN ('MAX', 'LT') AND max_value > 0)",
            name="ck_qc_spec_rule_per_volume",
        ),
        CheckConstraint(
            "min_value IS NULL OR max_value IS NULL OR min_value <= max_value", name="ck_qc_spec_rule_min_max"
        ),
        CheckConstraint("tolerance IS NULL OR tolerance >= 0", name="ck_qc_spec_rule_tolerance"),
        SEEDED,
    )

    def to_domain(self) -> SpecRule:
        return SpecRule(
            rule_type=self.rule_type,
            min_value=self.min_value,
            max_value=self.max_value,
            target_value=self.target_value,
            tolerance=self.tolerance,
            alert_min=self.alert_min,
            alert_max=self.alert_max,
            text_en=self.text_criteria_en,
            text_ar=self.text_criteria_ar,
            fail_if_outside=bool(self.fail_if_outside),
            per_volume=bool(self.per_volume),
        )


class ProductQcTemplate(Model):
    """A version of a product's QC panel."""

    __tablename__ = "product_qc_template"

    id = Column(Integer, primary_key=True)
    product_id = Column(Integer, ForeignKey("product.id"), nullable=False, index=True)
    version = Column(Integer, nullable=False)
    status = Column(String(16), nullable=False, server_default="DRAFT")
    effective_from = Column(DateTime(timezone=True), nullable=True)
    effective_to = Column(DateTime(timezone=True), nullable=True)
    change_summary = Column(Text, nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    created_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    created_by_name = Column(String(200), nullable=False, server_default="System")
    activated_at = Column(DateTime(timezone=True), nullable=True)
    activated_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    activation_signature_id = Column(BigInteger, ForeignKey("esignature.id"), nullable=True)
    retired_at = Column(DateTime(timezone=True), nullable=True)
    retired_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    updated_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))

    product = relationship("Product")
    lines = relationship(
        "ProductQcTemplateLine",
        back_populates="template",
        order_by="ProductQcTemplateLine.display_order",
        cascade="all, delete-orphan",
    )

    __table_args__ = (
        UniqueConstraint("product_id", "version", name="uq_product_qc_template_version"),
        CheckConstraint(_in("status", TEMPLATE_STATUSES), name="ck_product_qc_template_status"),
        CheckConstraint(
            "status <> 'ACTIVE' OR (effective_from IS NOT NULL AND activation_signature_id IS NOT NULL)",
            name="ck_product_qc_template_active_signed",
        ),
        # The database, not only the code, guarantees one ACTIVE (and one DRAFT) version per product.
        Index(
            "uq_product_qc_template_one_active",
            "product_id",
            unique=True,
            postgresql_where=text("status = 'ACTIVE'"),
        ),
        Index(
            "uq_product_qc_template_one_draft",
            "product_id",
            unique=True,
            postgresql_where=text("status = 'DRAFT'"),
        ),
        SEEDED,
    )

    def __repr__(self) -> str:
        return f"v{self.version} ({self.status})"


class ProductQcTemplateLine(Model):
    __tablename__ = "product_qc_template_line"

    id = Column(Integer, primary_key=True)
    template_id = Column(Integer, ForeignKey("product_qc_template.id", ondelete="CASCADE"), nullable=False)
    test_definition_id = Column(Integer, ForeignKey("qc_test_definition.id"), nullable=False)
    spec_rule_id = Column(Integer, ForeignKey("qc_spec_rule.id"), nullable=True, unique=True)
    display_order = Column(Integer, nullable=False)
    is_required = Column(Boolean, nullable=False, server_default=text("true"))
    attachment_required = Column(Boolean, nullable=False, server_default=text("false"))
    timing = Column(String(16), nullable=False, server_default="BEFORE_RELEASE")
    criteria_text_override_en = Column(String(300), nullable=True)
    criteria_text_override_ar = Column(String(300), nullable=True)
    default_result_value = Column(String(200), nullable=True)
    allow_manual_pass_fail = Column(Boolean, nullable=False, server_default=text("false"))

    template = relationship("ProductQcTemplate", back_populates="lines")
    test_definition = relationship("QcTestDefinition")
    spec_rule = relationship("QcSpecRule", cascade="all, delete-orphan", single_parent=True)

    __table_args__ = (
        UniqueConstraint("template_id", "test_definition_id", name="uq_product_qc_template_line_test"),
        CheckConstraint(_in("timing", TIMINGS), name="ck_product_qc_template_line_timing"),
        Index("ix_product_qc_template_line_template", "template_id", "display_order"),
        SEEDED,
    )


# --- Batch QC records ---------------------------------------------------------------------------------

SESSION_STATUSES = ("NOT_STARTED", "IN_PROGRESS", "WAITING_REVIEW", "COMPLETED", "QC_PASSED", "QC_FAILED")
RESULT_STATUSES = ("PENDING", "PASS", "FAIL", "NOT_APPLICABLE")
VALUE_KINDS = ("ENTRY", "CORRECTION", "VERDICT", "NOT_APPLICABLE")
OOS_STATUSES = ("OPEN", "UNDER_INVESTIGATION", "CLOSED")


class BatchQcSession(Model):
    """A batch's QC panel, snapshotted from the product's ACTIVE template when the batch was made.

    `template_id` is NULL when the product had no active template: the batch exists, shows a warning
    and cannot pass QC until a QC Manager attaches a template.
    """

    __tablename__ = "batch_qc_session"

    id = Column(Integer, primary_key=True)
    batch_id = Column(Integer, ForeignKey("batch.id"), nullable=False, unique=True)
    product_id = Column(Integer, ForeignKey("product.id"), nullable=False)
    template_id = Column(Integer, ForeignKey("product_qc_template.id"), nullable=True)
    template_version = Column(Integer, nullable=True)
    status = Column(String(16), nullable=False, server_default="NOT_STARTED")
    # The product's reviewer switch as it was when the batch was made (a later change of the
    # product does not change the rules a running session is judged by).
    review_required = Column(Boolean, nullable=False, server_default=text("true"))
    warning = Column(Text, nullable=True)
    started_at = Column(DateTime(timezone=True), nullable=True)
    completed_at = Column(DateTime(timezone=True), nullable=True)  # analyst submitted / completed
    analyst_user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    analyst_name = Column(String(200), nullable=True)
    reviewed_by_user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    reviewed_by_name = Column(String(200), nullable=True)
    reviewed_at = Column(DateTime(timezone=True), nullable=True)
    review_decision = Column(String(16), nullable=True)
    review_note = Column(Text, nullable=True)
    closed_at = Column(DateTime(timezone=True), nullable=True)  # after-release tests in (COMPLETED)
    notes = Column(Text, nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    updated_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))

    results = relationship(
        "BatchQcResult",
        back_populates="session",
        order_by="BatchQcResult.display_order",
        cascade="all, delete-orphan",
    )

    __table_args__ = (
        CheckConstraint(_in("status", SESSION_STATUSES), name="ck_batch_qc_session_status"),
        # No template, no pass: the gate to QP review can never open on an empty panel.
        CheckConstraint(
            "template_id IS NOT NULL OR status NOT IN ('QC_PASSED', 'COMPLETED')",
            name="ck_batch_qc_session_pass_needs_template",
        ),
        CheckConstraint(
            "status NOT IN ('QC_PASSED', 'QC_FAILED', 'COMPLETED') OR review_required = false "
            "OR reviewed_by_user_id IS NOT NULL",
            name="ck_batch_qc_session_reviewed",
        ),
        Index("ix_batch_qc_session_status", "status"),
        Index("ix_batch_qc_session_product", "product_id"),
    )


class BatchQcResult(Model):
    """One row of the batch's QC table: the test and criterion as frozen, and the current value."""

    __tablename__ = "batch_qc_result"

    id = Column(Integer, primary_key=True)
    session_id = Column(Integer, ForeignKey("batch_qc_session.id", ondelete="CASCADE"), nullable=False)
    test_definition_id = Column(Integer, ForeignKey("qc_test_definition.id"), nullable=False)
    template_line_id = Column(Integer, ForeignKey("product_qc_template_line.id"), nullable=True)
    display_order = Column(Integer, nullable=False)
    # Snapshot of the test and its criterion at batch creation (never follows later template edits).
    test_code = Column(String(32), nullable=False)
    test_name_en = Column(String(200), nullable=False)
    test_name_ar = Column(String(200), nullable=True)
    method_en = Column(String(200), nullable=True)
    method_ar = Column(String(200), nullable=True)
    criteria_display_en = Column(String(300), nullable=False)
    criteria_display_ar = Column(String(300), nullable=True)
    criteria_range_text = Column(String(300), nullable=True)
    result_type = Column(String(16), nullable=False)
    options_text = Column(Text, nullable=True)
    unit = Column(String(32), nullable=True)
    decimal_places = Column(Integer, nullable=True)
    rule_type = Column(String(16), nullable=True)
    min_value = Column(Numeric(18, 6), nullable=True)
    max_value = Column(Numeric(18, 6), nullable=True)
    target_value = Column(Numeric(18, 6), nullable=True)
    tolerance = Column(Numeric(18, 6), nullable=True)
    alert_min = Column(Numeric(18, 6), nullable=True)
    alert_max = Column(Numeric(18, 6), nullable=True)
    rule_text_en = Column(Text, nullable=True)
    rule_text_ar = Column(Text, nullable=True)
    fail_if_outside = Column(Boolean, nullable=False, server_default=text("true"))
    # A per-volume limit frozen with the V it was divided by (the product's max volume at batch creation).
    per_volume = Column(Boolean, nullable=False, server_default=text("false"))
    volume_ml = Column(Numeric(8, 2), nullable=True)
    is_required = Column(Boolean, nullable=False, server_default=text("true"))
    attachment_required = Column(Boolean, nullable=False, server_default=text("false"))
    timing = Column(String(16), nullable=False, server_default="BEFORE_RELEASE")
    allow_manual_pass_fail = Column(Boolean, nullable=False, server_default=text("false"))
    default_result_value = Column(String(200), nullable=True)
    # The current value (its full history is in batch_qc_result_value).
    numeric_value = Column(Numeric(18, 6), nullable=True)
    text_value = Column(String(500), nullable=True)
    pass_fail_value = Column(String(4), nullable=True)
    status = Column(String(16), nullable=False, server_default="PENDING")
    fail_reason = Column(String(300), nullable=True)
    alert = Column(Boolean, nullable=False, server_default=text("false"))
    alert_reason = Column(String(300), nullable=True)
    overridden = Column(Boolean, nullable=False, server_default=text("false"))
    needs_verdict = Column(Boolean, nullable=False, server_default=text("false"))
    value_version = Column(Integer, nullable=False, server_default=text("0"))
    entered_by_user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    entered_by_name = Column(String(200), nullable=True)
    entered_at = Column(DateTime(timezone=True), nullable=True)
    attachments_count = Column(Integer, nullable=False, server_default=text("0"))
    # Half-life identity from two timed dose-calibrator readings: {"readings": [{"at", "mbq"}, ...],
    # "half_life_s": ...}; the numeric value is the half-life computed from them.
    readings = Column(JSONB, nullable=True)
    # The sample the value was measured on (2-cyclotron 1.4 TestResult.sampleId); NULL until one is named.
    sample_id = Column(Integer, ForeignKey("batch_qc_sample.id"), nullable=True, index=True)

    session = relationship("BatchQcSession", back_populates="results")
    sample = relationship("BatchQcSample")

    __table_args__ = (
        CheckConstraint(_in("status", RESULT_STATUSES), name="ck_batch_qc_result_status"),
        CheckConstraint(_in("timing", TIMINGS), name="ck_batch_qc_result_timing"),
        CheckConstraint(
            "pass_fail_value IS NULL OR pass_fail_value IN ('PASS', 'FAIL')", name="ck_batch_qc_result_pf"
        ),
        CheckConstraint("status <> 'FAIL' OR fail_reason IS NOT NULL", name="ck_batch_qc_result_fail_reason"),
        CheckConstraint("attachments_count >= 0", name="ck_batch_qc_result_attachments"),
        CheckConstraint("volume_ml IS NULL OR volume_ml > 0", name="ck_batch_qc_result_volume"),
        UniqueConstraint("session_id", "test_definition_id", name="uq_batch_qc_result_test"),
        Index("ix_batch_qc_result_session", "session_id", "display_order"),
        Index("ix_batch_qc_result_status", "status"),
    )

    @property
    def options(self) -> tuple[str, ...]:
        return tuple(line.strip() for line in (self.options_text or "").splitlines() if line.strip())

    def rule(self) -> SpecRule | None:
        if not self.rule_type:
            return None
        return SpecRule(
            rule_type=self.rule_type,
            min_value=self.min_value,
            max_value=self.max_value,
            target_value=self.target_value,
            tolerance=self.tolerance,
            alert_min=self.alert_min,
            alert_max=self.alert_max,
            text_en=self.rule_text_en,
            text_ar=self.rule_text_ar,
            fail_if_outside=bool(self.fail_if_outside),
            per_volume=bool(self.per_volume),
            volume_ml=self.volume_ml,
            decimal_places=self.decimal_places,
        )


class BatchQcResultValue(Model):
    """Every value ever recorded for a result, with who, when and why. Append-only (triggers)."""

    __tablename__ = "batch_qc_result_value"

    id = Column(BigInteger, primary_key=True)
    result_id = Column(Integer, ForeignKey("batch_qc_result.id"), nullable=False)
    version = Column(Integer, nullable=False)
    kind = Column(String(16), nullable=False)
    numeric_value = Column(Numeric(18, 6), nullable=True)
    text_value = Column(String(500), nullable=True)
    pass_fail_value = Column(String(4), nullable=True)
    status = Column(String(16), nullable=False)
    fail_reason = Column(String(300), nullable=True)
    alert_reason = Column(String(300), nullable=True)
    overridden = Column(Boolean, nullable=False, server_default=text("false"))
    reason = Column(Text, nullable=True)  # why it was corrected / overridden / not applicable
    readings = Column(JSONB, nullable=True)  # the timed readings a computed value came from
    entered_by_user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    entered_by_name = Column(String(200), nullable=False)
    entered_by_role = Column(String(64), nullable=True)
    entered_at = Column(DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()"))
    trace_id = Column(String(64), nullable=True)

    __table_args__ = (
        UniqueConstraint("result_id", "version", name="uq_batch_qc_result_value_version"),
        CheckConstraint(_in("kind", VALUE_KINDS), name="ck_batch_qc_result_value_kind"),
        CheckConstraint("kind <> 'CORRECTION' OR reason IS NOT NULL", name="ck_batch_qc_result_value_reason"),
    )


class BatchQcAttachment(Model):
    """A file attached to a result (chromatogram, LAL report). Stored outside the web root under a
    random name; the SHA-256 proves the file is the one uploaded. Append-only (triggers)."""

    __tablename__ = "batch_qc_attachment"

    id = Column(Integer, primary_key=True)
    result_id = Column(Integer, ForeignKey("batch_qc_result.id"), nullable=False, index=True)
    file_name = Column(String(255), nullable=False)  # as uploaded (cleaned), shown to people
    storage_name = Column(String(80), nullable=False, unique=True)  # random, on disk under UPLOAD_DIR
    sha256 = Column(String(64), nullable=False)
    file_size_bytes = Column(BigInteger, nullable=False)
    mime_type = Column(String(100), nullable=False)
    uploaded_by_user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    uploaded_by_name = Column(String(200), nullable=False)
    uploaded_at = Column(DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()"))

    __table_args__ = (CheckConstraint("file_size_bytes > 0", name="ck_batch_qc_attachment_size"),)


class OosCase(Model):
    """Out-of-specification case opened when QC fails (investigation is Phase 2: structure only)."""

    __tablename__ = "oos_case"

    id = Column(Integer, primary_key=True)
    batch_id = Column(Integer, ForeignKey("batch.id"), nullable=False, index=True)
    session_id = Column(Integer, ForeignKey("batch_qc_session.id"), nullable=False)
    result_id = Column(Integer, ForeignKey("batch_qc_result.id"), nullable=True)
    reason = Column(Text, nullable=False)
    status = Column(String(24), nullable=False, server_default="OPEN")
    opened_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    opened_by_user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    opened_by_name = Column(String(200), nullable=False)
    closed_at = Column(DateTime(timezone=True), nullable=True)
    closed_by_user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    conclusion = Column(Text, nullable=True)

    __table_args__ = (
        CheckConstraint(_in("status", OOS_STATUSES), name="ck_oos_case_status"),
        Index("uq_oos_case_result", "result_id", unique=True, postgresql_where=text("result_id IS NOT NULL")),
    )


SAMPLE_TYPES = ("RELEASE_TESTING", "ENDOTOXIN", "STERILITY", "RETENTION")


class BatchQcSample(Model):
    """A sample drawn from the batch for QC (2-cyclotron 1.4): what, when, by whom. Append-only:
    a wrong entry is answered by a new one with a note, never edited (triggers)."""

    __tablename__ = "batch_qc_sample"

    id = Column(Integer, primary_key=True)
    batch_id = Column(Integer, ForeignKey("batch.id"), nullable=False)
    session_id = Column(Integer, ForeignKey("batch_qc_session.id"), nullable=False)
    sample_type = Column(String(24), nullable=False)
    taken_at = Column(DateTime(timezone=True), nullable=False)
    taken_by_user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    taken_by_name = Column(String(200), nullable=False)
    note = Column(Text, nullable=True)
    recorded_at = Column(DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()"))

    __table_args__ = (
        CheckConstraint(_in("sample_type", SAMPLE_TYPES), name="ck_batch_qc_sample_type"),
        Index("ix_batch_qc_sample_batch", "batch_id", "taken_at"),
    )
