"""The batch QC page /batches/<id>/qc: TEST | CRITERIA | RESULT | STATUS (QC document section 4).

Save Draft records every changed row in one transaction; Submit for Review / Mark QC Complete
save and then submit; the reviewer approves, rejects or returns. While typing, the row's badge is
previewed by /evaluate (the same domain rule, nothing stored). Every POST calls the services the
API uses; errors come back as a flash message (or JSON for the in-page calls).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask import flash, jsonify, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose, has_access
from markupsafe import Markup

from app.batches.domain.states import label as batch_state_label
from app.core.actor import current_actor
from app.core.domain import DomainError
from app.core.web import fmt_local, to_local
from app.masterdata.preferences import parse_activity
from app.qc import attachments as qc_attachments
from app.qc import queries as qc_read
from app.qc import samples as qc_samples
from app.qc import service as qc
from app.qc.domain import samples as sample_rules
from app.qc.domain import session_flow as flow
from app.qc.domain.rules import STATUS_LABELS, Entry, evaluate, to_decimal

ROW_KEYS = ("numeric", "text", "pf", "reason", "na", "sample")


def _row_data(form: Any, rid: int) -> dict[str, Any] | None:
    """The submitted fields of one row, or None when the row had no inputs on the page."""
    present = [k for k in ROW_KEYS if f"{k}_{rid}" in form]
    if not present:
        return None
    data: dict[str, Any] = {}
    if f"numeric_{rid}" in form:
        data["numeric_value"] = form.get(f"numeric_{rid}", "").strip()
    if f"text_{rid}" in form:
        data["text_value"] = form.get(f"text_{rid}", "").strip()
    if f"pf_present_{rid}" in form or f"pf_{rid}" in form:
        data["pass_fail_value"] = form.get(f"pf_{rid}") or None
    if form.get(f"na_{rid}"):
        data["not_applicable"] = True
    if form.get(f"sample_{rid}", "").strip():
        data["sample_id"] = form.get(f"sample_{rid}").strip()
    if form.get(f"reason_{rid}", "").strip():
        data["reason"] = form.get(f"reason_{rid}").strip()
    # The half-life calculator: two timed readings; the service computes T½ and keeps both readings.
    t1, a1, t2, a2 = (form.get(f"hl_{k}_{rid}", "").strip() for k in ("t1", "a1", "t2", "a2"))
    if any((t1, a1, t2, a2)):
        if form.get(f"hl_unit_{rid}") == "mCi":  # typed in mCi: kept in MBq, exactly (1 mCi = 37 MBq)
            a1, a2 = [f"{parse_activity(a, 'mCi', 'reading'):f}" if a else "" for a in (a1, a2)]
        data["readings"] = [{"at": t1, "mbq": a1}, {"at": t2, "mbq": a2}]
    return data


def _json(value: Any) -> Markup:
    """JSON for a <script type="application/json"> block (no "</" can close the script)."""
    return Markup(json.dumps(value, ensure_ascii=False, default=str).replace("</", "<\\/"))


def timeline(session: Any, history: list[dict[str, Any]], samples: list[Any] = ()) -> list[dict[str, Any]]:
    """Who entered what and when: every recorded value plus the session's milestones, newest first."""
    words = {
        "ENTRY": "entered",
        "CORRECTION": "corrected",
        "VERDICT": "gave a verdict on",
        "NOT_APPLICABLE": "marked N/A",
    }
    items = [
        {
            "at": h["entered_at_dt"],
            "who": h["entered_by"],
            "role": h["entered_by_role"],
            "kind": h["kind"],
            "text": f"{words.get(h['kind'], 'recorded')} {h['test_name_en']}: {h['value']}"
            + (f" → {h['status_label']}" if h["value"] != h["status_label"] else "")
            + (f" ({h['fail_reason']})" if h["fail_reason"] and h["fail_reason"] != "Marked as Fail" else ""),
            "reason": h["reason"],
        }
        for h in history
    ]
    for sample in samples:
        items.append(
            {
                "at": sample.taken_at,
                "who": sample.taken_by_name,
                "role": None,
                "kind": "SAMPLE",
                "text": f"took the {qc_samples.SAMPLE_LABELS[sample.sample_type].lower()} sample",
                "reason": sample.note,
            }
        )
    if session.completed_at and session.analyst_name:
        items.append(
            {
                "at": session.completed_at,
                "who": session.analyst_name,
                "role": None,
                "kind": "SUBMIT",
                "text": "submitted the results" if session.review_required else "completed QC",
                "reason": None,
            }
        )
    if session.reviewed_at and session.reviewed_by_name:
        items.append(
            {
                "at": session.reviewed_at,
                "who": session.reviewed_by_name,
                "role": None,
                "kind": "REVIEW",
                "text": f"review: {(session.review_decision or '').lower()}",
                "reason": session.review_note,
            }
        )
    for item in items:
        local = to_local(item["at"])
        item["time"], item["date"] = local.strftime("%H:%M"), local.strftime("%d %b")
    return sorted(items, key=lambda i: i["at"], reverse=True)


class QcBatchView(BaseView):
    route_base = "/batches"
    class_permission_name = "QcSession"
    method_permission_name = {
        "page": "read",
        "download": "read",
        "evaluate": "enter",
        "save": "enter",
        "upload": "enter",
        "review": "review",
        "attach_template": "attach_template",
        "sample": "enter",
    }

    def _perms(self) -> set[str]:
        sm = self.appbuilder.sm
        return {p for p in ("can_read", "can_enter", "can_review") if sm.has_access(p, "QcSession")}

    def _back(self, batch_id: int):
        return redirect(url_for("QcBatchView.page", batch_id=batch_id))

    @expose("/<int:batch_id>/qc")
    @has_access
    def page(self, batch_id: int):
        actor = current_actor()
        qc_attachments.check_may_see_batch(batch_id, actor)
        batch, session = qc.get_session(batch_id)
        perms = self._perms()
        view = qc_read.session_dict(batch, session, actor, perms)
        history = qc_read.history(session)
        editable = {
            r.id: ("can_enter" in perms)
            and (
                qc_read.can_enter_now(session, batch)
                if r.timing == "BEFORE_RELEASE"
                else batch.status not in qc.NOT_YET_PRODUCED
            )
            for r in session.results
        }
        reviewing = session.status == "WAITING_REVIEW" and any(
            a in view["allowed_actions"] for a in ("approve", "reject", "return_for_correction")
        )
        sod_blocked = session.status == "WAITING_REVIEW" and "can_review" in perms and not reviewing
        by_id = {r.id: r for r in session.results}
        for row in view["results"]:
            row["entered_at_dt"] = by_id[row["id"]].entered_at
        facts = qc.facts(session)
        trigger = "submit_for_review" if session.review_required else "complete"
        submit_block = None
        if session.status in flow.OPEN_STATES and trigger not in flow.allowed_triggers(session.status, facts):
            submit_block = flow.refusal(session.status, trigger, facts).user_message
        elif session.status in flow.OPEN_STATES:
            no_sample, _ = qc.sample_refusal(batch.id, session)
            submit_block = no_sample.user_message if no_sample is not None else None
        recorded = qc_samples.samples(batch.id)
        for row in view["results"]:  # the samples each row may name (a choice only when there are several)
            row["sample_choices"] = [
                {"id": s.id, "text": qc_read.sample_text(s)}
                for s in sample_rules.candidates(row["test_code"], recorded)
            ]
        approve_block = None
        if reviewing and "approve" not in view["allowed_actions"]:
            approve_block = flow.refusal(session.status, "approve", facts).user_message
        return self.render_template(
            "qc/batch_qc.html",
            batch=batch,
            qs=session,
            view=view,
            history=history,
            editable=editable,
            any_editable=any(editable.values()),
            reviewing=reviewing,
            sod_blocked=sod_blocked,
            perms=perms,
            max_mb=qc_attachments.max_bytes() / (1024 * 1024),
            types=qc_attachments.allowed_types(),
            session_labels=flow.STATUS_LABELS,
            is_manager=actor.has_role("QC Manager"),
            batch_status_label=batch_state_label(batch.status),
            sample_labels=qc_samples.SAMPLE_LABELS,
            samples=recorded,
            can_sample="can_enter" in perms and batch.status not in qc.NOT_YET_PRODUCED,
            now_local=to_local(dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M"),
            submit_block=submit_block,
            approve_block=approve_block,
            timeline=timeline(session, history, recorded),
            attachments_json=_json({str(r["id"]): r.get("attachments", []) for r in view["results"]}),
            history_json=_json(
                [
                    {k: v for k, v in h.items() if k != "entered_at_dt"}
                    | {"when": fmt_local(h["entered_at_dt"])}
                    for h in history
                ]
            ),
            names_json=_json({str(r["id"]): r["test_name_en"] for r in view["results"]}),
        )

    @expose("/<int:batch_id>/qc/evaluate", methods=["POST"])
    @has_access
    def evaluate(self, batch_id: int):
        """Preview a row's status from what is typed (nothing is stored)."""
        data = request.get_json(silent=True) or {}
        _, session = qc.get_session(batch_id)
        result = qc._find_result(session, data.get("result_id"))
        try:
            entry = Entry(
                numeric_value=to_decimal(data.get("numeric_value")),
                text_value=(data.get("text_value") or "").strip() or None,
                pass_fail_value=data.get("pass_fail_value") or None,
                reason=data.get("reason") or "(preview)",
            )
            verdict = evaluate(qc.spec_of(result), entry)
        except DomainError as err:
            return jsonify(ok=False, userMessage=err.user_message, code=err.code)
        return jsonify(
            ok=True,
            status=verdict.status,
            status_label=STATUS_LABELS[verdict.status],
            fail_reason=verdict.fail_reason,
            alert_reason=verdict.alert_reason,
            needs_verdict=verdict.needs_verdict,
            overridden=verdict.overridden,
        )

    @expose("/<int:batch_id>/qc/save", methods=["POST"])
    @has_access
    def save(self, batch_id: int):
        """Save Draft, then optionally Submit for Review / Mark QC Complete."""
        actor = current_actor()
        qc_attachments.check_may_see_batch(batch_id, actor)
        _, session = qc.get_session(batch_id)
        entries = []
        for r in session.results:
            data = _row_data(request.form, r.id)
            if data is not None:
                entries.append((r.id, data))
        changed = qc.save_results(batch_id, entries, actor=actor) if entries else 0
        intent = request.form.get("intent", "save")
        if intent in ("submit", "complete"):
            session = qc.submit_session(batch_id, actor=actor, note=request.form.get("note"))
            flash(
                "Results submitted for review."
                if session.status == "WAITING_REVIEW"
                else f"QC complete: {flow.STATUS_LABELS[session.status]}.",
                "success" if session.status != "QC_FAILED" else "warning",
            )
        else:
            flash(
                f"Draft saved: {changed} result{'s' if changed != 1 else ''} recorded."
                if changed
                else "Nothing changed.",
                "success" if changed else "info",
            )
        return self._back(batch_id)

    @expose("/<int:batch_id>/qc/rows/<int:result_id>/attachments", methods=["POST"])
    @has_access
    def upload(self, batch_id: int, result_id: int):
        qc_attachments.check_content_length(request.content_length)
        request.max_content_length = qc_attachments.request_limit()
        actor = current_actor()
        qc_attachments.check_may_see_batch(batch_id, actor)
        upload = request.files.get("file")
        item = qc_attachments.store_attachment(
            batch_id,
            result_id,
            upload.stream if upload else None,
            upload.filename if upload else None,
            actor=actor,
        )
        flash(f"Attached {item.file_name}.", "success")
        return self._back(batch_id)

    @expose("/<int:batch_id>/qc/attachments/<int:attachment_id>")
    @has_access
    def download(self, batch_id: int, attachment_id: int):
        item, path = qc_attachments.attachment_for_download(batch_id, attachment_id, actor=current_actor())
        return send_file(path, mimetype=item.mime_type, as_attachment=True, download_name=item.file_name)

    @expose("/<int:batch_id>/qc/review", methods=["POST"])
    @has_access
    def review(self, batch_id: int):
        actor = current_actor()
        qc_attachments.check_may_see_batch(batch_id, actor)
        _, session = qc.get_session(batch_id)
        verdicts = {
            str(r.id): request.form.get(f"verdict_{r.id}")
            for r in session.results
            if r.needs_verdict and request.form.get(f"verdict_{r.id}")
        }
        decision = request.form.get("decision", "")
        session = qc.review_session(
            batch_id, decision, note=request.form.get("note"), verdicts=verdicts, actor=actor
        )
        words = {"APPROVE": "approved", "REJECT": "rejected", "RETURN": "returned for correction"}.get(
            decision.upper(), "reviewed"
        )
        flash(
            f"QC results {words}. Session: {flow.STATUS_LABELS[session.status]}.",
            "success" if session.status != "QC_FAILED" else "warning",
        )
        return self._back(batch_id)

    @expose("/<int:batch_id>/qc/samples", methods=["POST"])
    @has_access
    def sample(self, batch_id: int):
        sample = qc_samples.record_sample(
            batch_id,
            request.form.get("sample_type"),
            taken_at=request.form.get("taken_at"),
            note=request.form.get("note"),
            actor=current_actor(),
        )
        flash(f"{qc_samples.SAMPLE_LABELS[sample.sample_type]} sample recorded.", "success")
        return self._back(batch_id)

    @expose("/<int:batch_id>/qc/attach-template", methods=["POST"])
    @has_access
    def attach_template(self, batch_id: int):
        session = qc.attach_active_template(batch_id, actor=current_actor())
        flash(
            f"QC template version {session.template_version} attached: {len(session.results)} tests.",
            "success",
        )
        return self._back(batch_id)


def register(appbuilder) -> None:
    appbuilder.add_view_no_menu(QcBatchView)
