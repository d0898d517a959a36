"""The batch QC session's state machine, as data (QC document section 2.3).

    NOT_STARTED --start--> IN_PROGRESS --submit_for_review--> WAITING_REVIEW --approve--> QC_PASSED
                                 |                                 |  \\--approve (a fail)/reject--> QC_FAILED
                                 |                                 \\--return_for_correction--> IN_PROGRESS
                                 \\--complete (no reviewer step)--> QC_PASSED / QC_FAILED
    QC_PASSED --close (after-release tests done)--> COMPLETED
    QC_PASSED / COMPLETED --fail_after_release--> QC_FAILED

Only tests timed BEFORE_RELEASE decide QC_PASSED; AFTER_RELEASE tests (sterility, radionuclidic
purity) stay pending without blocking and close the session when they arrive. Guards are named
pure functions on `SessionFacts`; the page's buttons come from the same machine (`may_<trigger>`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from transitions import Machine

from app.core.domain import DomainError

STATES = ("NOT_STARTED", "IN_PROGRESS", "WAITING_REVIEW", "COMPLETED", "QC_PASSED", "QC_FAILED")
FINAL_STATES = ("QC_FAILED",)
STATUS_LABELS = {
    "NOT_STARTED": "Not started",
    "IN_PROGRESS": "In progress",
    "WAITING_REVIEW": "Waiting review",
    "COMPLETED": "Completed",
    "QC_PASSED": "Passed",
    "QC_FAILED": "Failed",
}
# The gate for QP review asks "has QC passed?": COMPLETED is a passed session whose after-release
# tests have also been reported.
PASSED_STATES = ("QC_PASSED", "COMPLETED")
# Sessions in these states accept result entry for before-release tests.
OPEN_STATES = ("NOT_STARTED", "IN_PROGRESS")

TRANSITIONS: list[dict] = [
    {"trigger": "start", "source": "NOT_STARTED", "dest": "IN_PROGRESS"},
    {
        "trigger": "submit_for_review",
        "source": "IN_PROGRESS",
        "dest": "WAITING_REVIEW",
        "conditions": ["review_required", "all_required_entered", "attachments_complete"],
    },
    {
        "trigger": "complete",
        "source": "IN_PROGRESS",
        "dest": "QC_PASSED",
        "conditions": [
            "no_review",
            "has_template",
            "all_required_decided",
            "attachments_complete",
            "all_required_pass",
        ],
    },
    {
        "trigger": "complete",
        "source": "IN_PROGRESS",
        "dest": "QC_FAILED",
        "conditions": ["no_review", "all_required_decided", "attachments_complete", "any_required_fail"],
    },
    {
        "trigger": "approve",
        "source": "WAITING_REVIEW",
        "dest": "QC_PASSED",
        "conditions": ["has_template", "all_required_decided", "attachments_complete", "all_required_pass"],
    },
    {
        # Approving results that include a failed required test confirms the failure.
        "trigger": "approve",
        "source": "WAITING_REVIEW",
        "dest": "QC_FAILED",
        "conditions": ["all_required_decided", "attachments_complete", "any_required_fail"],
    },
    {"trigger": "reject", "source": "WAITING_REVIEW", "dest": "QC_FAILED"},
    {"trigger": "return_for_correction", "source": "WAITING_REVIEW", "dest": "IN_PROGRESS"},
    {"trigger": "close", "source": "QC_PASSED", "dest": "COMPLETED", "conditions": ["after_release_done"]},
    {
        "trigger": "fail_after_release",
        "source": ["QC_PASSED", "COMPLETED"],
        "dest": "QC_FAILED",
        "conditions": ["any_after_release_fail"],
    },
]
TRIGGERS = tuple(dict.fromkeys(t["trigger"] for t in TRANSITIONS))


@dataclass(frozen=True)
class ResultFact:
    """One result row as the session rules see it."""

    name: str
    required: bool = True
    timing: str = "BEFORE_RELEASE"
    status: str = "PENDING"  # PENDING / PASS / FAIL / NOT_APPLICABLE
    entered: bool = False  # a value or selection has been recorded
    needs_verdict: bool = False  # entered, waiting for a person's Pass/Fail
    attachment_missing: bool = False  # the line asks for a file (chromatogram, report) and has none


@dataclass(frozen=True)
class SessionFacts:
    results: tuple[ResultFact, ...] = ()
    review_required: bool = True
    has_template: bool = True

    @property
    def gating(self) -> list[ResultFact]:
        return [r for r in self.results if r.required and r.timing == "BEFORE_RELEASE"]

    @property
    def missing(self) -> list[ResultFact]:
        return [r for r in self.gating if not r.entered and r.status == "PENDING"]

    @property
    def undecided(self) -> list[ResultFact]:
        return [r for r in self.gating if r.status == "PENDING"]

    @property
    def failed(self) -> list[ResultFact]:
        return [r for r in self.gating if r.status == "FAIL"]

    @property
    def missing_attachments(self) -> list[ResultFact]:
        return [r for r in self.gating if r.attachment_missing and r.status != "NOT_APPLICABLE"]

    @property
    def after_release_pending(self) -> list[ResultFact]:
        return [
            r for r in self.results if r.timing == "AFTER_RELEASE" and r.required and r.status == "PENDING"
        ]

    @property
    def after_release_failed(self) -> list[ResultFact]:
        return [r for r in self.results if r.timing == "AFTER_RELEASE" and r.required and r.status == "FAIL"]

    @property
    def completed_count(self) -> int:
        return sum(1 for r in self.results if r.status != "PENDING")


# --- guards: named pure functions of the facts -------------------------------------------------


def all_required_entered(f: SessionFacts) -> bool:
    return f.has_template and not f.missing


def attachments_complete(f: SessionFacts) -> bool:
    return not f.missing_attachments


def all_required_decided(f: SessionFacts) -> bool:
    return f.has_template and not f.undecided


def all_required_pass(f: SessionFacts) -> bool:
    return all_required_decided(f) and not f.failed


def any_required_fail(f: SessionFacts) -> bool:
    return bool(f.failed)


def after_release_done(f: SessionFacts) -> bool:
    return not f.after_release_pending and not f.after_release_failed


def any_after_release_fail(f: SessionFacts) -> bool:
    return bool(f.after_release_failed)


class SessionModel:
    """What the machine drives: a status and the facts its guards read."""

    def __init__(self, status: str, facts: SessionFacts) -> None:
        self.status = status
        self.facts = facts

    @property
    def review_required(self) -> bool:
        return self.facts.review_required

    @property
    def no_review(self) -> bool:
        return not self.facts.review_required

    @property
    def has_template(self) -> bool:
        return self.facts.has_template

    @property
    def all_required_entered(self) -> bool:
        return all_required_entered(self.facts)

    @property
    def attachments_complete(self) -> bool:
        return attachments_complete(self.facts)

    @property
    def all_required_decided(self) -> bool:
        return all_required_decided(self.facts)

    @property
    def all_required_pass(self) -> bool:
        return all_required_pass(self.facts)

    @property
    def any_required_fail(self) -> bool:
        return any_required_fail(self.facts)

    @property
    def after_release_done(self) -> bool:
        return after_release_done(self.facts)

    @property
    def any_after_release_fail(self) -> bool:
        return any_after_release_fail(self.facts)


MACHINE = Machine(
    model=None,
    states=list(STATES),
    transitions=TRANSITIONS,
    initial="NOT_STARTED",
    auto_transitions=False,
    model_attribute="status",
)


def allowed_triggers(status: str, facts: SessionFacts) -> list[str]:
    """Triggers whose guards hold now (drives the page's buttons and the API alike)."""
    model = SessionModel(status, facts)
    MACHINE.add_model(model, initial=status)
    try:
        return [t for t in TRIGGERS if getattr(model, f"may_{t}")()]
    finally:
        MACHINE.remove_model(model)


def fire(status: str, trigger: str, facts: SessionFacts) -> str:
    """The session status after `trigger`, or DomainError saying in words why not."""
    if trigger not in TRIGGERS:
        raise DomainError("TRANSITION_NOT_ALLOWED", f"Unknown QC session action {trigger}.", 409)
    model = SessionModel(status, facts)
    MACHINE.add_model(model, initial=status)
    try:
        if getattr(model, f"may_{trigger}")() and getattr(model, trigger)():
            return model.status
    finally:
        MACHINE.remove_model(model)
    raise refusal(status, trigger, facts)


def _names(rows: Iterable[ResultFact], limit: int = 4) -> str:
    names = [r.name for r in rows]
    extra = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + extra


def refusal(status: str, trigger: str, facts: SessionFacts) -> DomainError:
    """The reason a session action is refused, in words a QC analyst understands."""
    label = STATUS_LABELS.get(status, status)
    sources = {t["trigger"]: t["source"] for t in TRANSITIONS}
    source = sources.get(trigger)
    source_list = source if isinstance(source, list) else [source]
    if status == "NOT_STARTED" and trigger in ("submit_for_review", "complete") and facts.has_template:
        return DomainError(
            "QC_RESULTS_MISSING",
            f"No results entered yet: {len(facts.missing)} required test(s) to do, starting with "
            f"{_names(facts.missing, 2)}.",
            409,
        )
    if status not in source_list:
        return DomainError(
            "QC_SESSION_STATE",
            f"This QC session is {label.lower()}; that action is not possible now.",
            409,
        )
    if not facts.has_template:
        return DomainError(
            "QC_NO_TEMPLATE",
            "This batch has no QC tests because its product had no active QC template when the batch "
            "was created. QC cannot pass until a QC Manager attaches the active template.",
            409,
        )
    if trigger == "submit_for_review" and not facts.review_required:
        return DomainError(
            "QC_REVIEW_NOT_REQUIRED",
            "This product has no reviewer step: use Mark QC Complete.",
            409,
        )
    if trigger == "complete" and facts.review_required:
        return DomainError(
            "QC_REVIEW_REQUIRED",
            "This product needs a second-person review: use Submit for Review.",
            409,
        )
    if trigger == "submit_for_review" and facts.missing:
        return DomainError(
            "QC_RESULTS_MISSING",
            f"{len(facts.missing)} required test(s) still have no result: {_names(facts.missing)}.",
            409,
        )
    if trigger in ("complete", "approve") and facts.undecided:
        return DomainError(
            "QC_RESULTS_MISSING",
            f"{len(facts.undecided)} required test(s) still need a result or a Pass/Fail decision: "
            f"{_names(facts.undecided)}.",
            409,
        )
    if trigger in ("submit_for_review", "complete", "approve") and facts.missing_attachments:
        return DomainError(
            "QC_ATTACHMENT_MISSING",
            f"Attach the report for: {_names(facts.missing_attachments)}.",
            409,
        )
    if trigger == "close":
        return DomainError(
            "QC_AFTER_RELEASE_PENDING",
            f"After-release tests are still pending: {_names(facts.after_release_pending)}.",
            409,
        )
    return DomainError("QC_SESSION_STATE", f"That action is not possible while QC is {label.lower()}.", 409)
