"""Each QC result names the sample it was measured on; QC is not submitted before the samples are
recorded (2-cyclotron 1.4). Service, API and page."""

from __future__ import annotations

import pytest
from flask import g

from app.core.domain import DomainError
from app.qc import samples as qc_samples
from app.qc import service as qc
from tests.conftest import login_page
from tests.qc_factories import FDG_PASS, actor, attach_required, enter, make_batch, results_by_code


def _all_entered(batch_id: int) -> None:
    enter(batch_id, FDG_PASS)
    attach_required(batch_id)


# --- service ---------------------------------------------------------------------------------------


def test_submission_refused_until_a_sample_of_each_needed_kind_is_recorded(app_ctx):
    batch = make_batch(samples=False)
    _all_entered(batch.id)
    with pytest.raises(DomainError) as e:
        qc.submit_session(batch.id, actor=actor("qc"))
    assert e.value.code == "SAMPLE_REQUIRED" and e.value.status == 409
    assert "release testing sample and an endotoxin sample" in e.value.user_message
    assert qc.get_session(batch.id)[1].status != "WAITING_REVIEW"
    qc_samples.record_sample(batch.id, "RELEASE_TESTING", actor=actor("qc"))
    with pytest.raises(DomainError) as e:
        qc.submit_session(batch.id, actor=actor("qc"))
    assert "endotoxin sample" in e.value.user_message and "Bacterial Endotoxins" in e.value.user_message
    endotoxin = qc_samples.record_sample(batch.id, "ENDOTOXIN", actor=actor("qc"))
    assert qc.submit_session(batch.id, actor=actor("qc")).status == "WAITING_REVIEW"
    rows = results_by_code(batch.id)
    assert rows["ENDOTOXIN"].sample_id == endotoxin.id  # the only one of its kind, taken at submission
    release = {s.sample_type: s.id for s in qc.batch_samples(batch.id)}["RELEASE_TESTING"]
    assert {r.sample_id for code, r in rows.items() if code in FDG_PASS and code != "ENDOTOXIN"} == {release}
    assert rows["STERILITY"].sample_id is None  # after release: not entered yet


def test_result_entered_after_its_sample_names_it_at_once(app_ctx):
    batch = make_batch()
    enter(batch.id, {"PH": FDG_PASS["PH"], "ENDOTOXIN": FDG_PASS["ENDOTOXIN"]})
    rows = results_by_code(batch.id)
    kinds = {s.id: s.sample_type for s in qc.batch_samples(batch.id)}
    assert kinds[rows["PH"].sample_id] == "RELEASE_TESTING"
    assert kinds[rows["ENDOTOXIN"].sample_id] == "ENDOTOXIN"


def test_with_two_samples_of_a_kind_the_analyst_names_one(app_ctx):
    batch = make_batch()
    second = qc_samples.record_sample(batch.id, "ENDOTOXIN", note="retest vial", actor=actor("qc"))
    _all_entered(batch.id)
    assert results_by_code(batch.id)["ENDOTOXIN"].sample_id is None  # two candidates: not guessed
    with pytest.raises(DomainError) as e:
        qc.submit_session(batch.id, actor=actor("qc"))
    assert (
        e.value.code == "SAMPLE_REQUIRED"
        and "choose the sample for Bacterial Endotoxins" in e.value.user_message
    )
    row = results_by_code(batch.id)["ENDOTOXIN"]
    # a sample of another kind is refused, naming the right kind
    release = next(s for s in qc.batch_samples(batch.id) if s.sample_type == "RELEASE_TESTING")
    with pytest.raises(DomainError) as e:
        qc.record_qc_result(batch.id, row.id, {"sample_id": release.id}, actor=actor("qc"))
    assert e.value.status == 422
    assert "measured on an endotoxin sample, not on a release testing sample" in e.value.user_message
    # naming it keeps the value and writes an audit row
    qc.record_qc_result(batch.id, row.id, {"sample_id": second.id}, actor=actor("qc"))
    assert results_by_code(batch.id)["ENDOTOXIN"].sample_id == second.id
    assert results_by_code(batch.id)["ENDOTOXIN"].value_version == 1
    # changing it afterwards is a correction: it needs a reason
    first = next(s for s in qc.batch_samples(batch.id) if s.sample_type == "ENDOTOXIN" and s.id != second.id)
    with pytest.raises(DomainError) as e:
        qc.record_qc_result(batch.id, row.id, {"sample_id": first.id}, actor=actor("qc"))
    assert e.value.code == "REASON_REQUIRED"
    assert qc.submit_session(batch.id, actor=actor("qc")).status == "WAITING_REVIEW"


def test_a_sample_of_another_batch_is_refused(app_ctx):
    other = make_batch()
    batch = make_batch()
    foreign = qc.batch_samples(other.id)[0]
    row = results_by_code(batch.id)["PH"]
    with pytest.raises(DomainError) as e:
        qc.record_qc_result(batch.id, row.id, {**FDG_PASS["PH"], "sample_id": foreign.id}, actor=actor("qc"))
    assert e.value.status == 422 and "not taken from this batch" in e.value.user_message


# --- API -------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_login_leak_between_requests(monkeypatch):
    from tests.conftest import Api

    original = Api._do

    def _do(self, method, url, **kw):
        for key in list(vars(g)):
            g.pop(key, None)
        return original(self, method, url, **kw)

    monkeypatch.setattr(Api, "_do", _do)


def test_api_refuses_submission_without_samples_and_names_the_sample_of_each_result(api):
    batch = make_batch(samples=False)
    _all_entered(batch.id)
    analyst = api("qc")
    r = analyst.post(f"/api/v1/batches/{batch.id}/qc-session/submit", json={})
    assert r.status_code == 409, r.get_json()
    body = r.get_json()
    assert body["code"] == "SAMPLE_REQUIRED" and "Record a release testing sample" in body["userMessage"]
    for kind in ("RELEASE_TESTING", "ENDOTOXIN", "ENDOTOXIN"):
        assert (
            analyst.post(f"/api/v1/batches/{batch.id}/qc-samples", json={"sample_type": kind}).status_code
            == 201
        )
    r = analyst.post(f"/api/v1/batches/{batch.id}/qc-session/submit", json={})
    assert r.status_code == 409 and "Bacterial Endotoxins" in r.get_json()["userMessage"]
    session = analyst.get(f"/api/v1/batches/{batch.id}/qc-session").get_json()
    endotoxin = [s["id"] for s in session["samples"] if s["sample_type"] == "ENDOTOXIN"]
    row = next(x for x in session["results"] if x["test_code"] == "ENDOTOXIN")
    assert row["sample_id"] is None and row["sample_type_needed"] == "ENDOTOXIN"
    r = analyst.put(f"/api/v1/batches/{batch.id}/qc-results/{row['id']}", json={"sample_id": endotoxin[1]})
    assert r.status_code == 200, r.get_json()
    r = analyst.post(f"/api/v1/batches/{batch.id}/qc-session/submit", json={})
    assert r.status_code == 200, r.get_json()
    session = analyst.get(f"/api/v1/batches/{batch.id}/qc-session").get_json()
    rows = {x["test_code"]: x for x in session["results"]}
    assert rows["ENDOTOXIN"]["sample_id"] == endotoxin[1]
    assert rows["ENDOTOXIN"]["sample"].startswith(f"Endotoxin sample #{endotoxin[1]}, taken ")
    assert rows["PH"]["sample"].startswith("Release testing sample #")


# --- page and report -------------------------------------------------------------------------------


@pytest.fixture
def as_user(app, client):
    def _login(username: str):
        for key in list(vars(g)):
            g.pop(key, None)
        client.get("/logout/")
        for key in list(vars(g)):
            g.pop(key, None)
        return login_page(client, username)

    return _login


def test_qc_page_says_which_sample_is_missing_lets_the_analyst_choose_and_shows_it(as_user):
    batch = make_batch(samples=False)
    _all_entered(batch.id)
    c = as_user("qc")
    page = c.get(f"/batches/{batch.id}/qc").get_data(as_text=True)
    assert "No endotoxin sample recorded yet" in page
    assert "Record a release testing sample and an endotoxin sample before submitting QC" in page
    r = c.post(f"/batches/{batch.id}/qc/save", data={"intent": "submit"}, follow_redirects=True)
    assert "Record a release testing sample" in r.get_data(as_text=True)
    assert qc.get_session(batch.id)[1].status == "IN_PROGRESS"
    for kind in ("RELEASE_TESTING", "ENDOTOXIN", "ENDOTOXIN"):
        qc_samples.record_sample(batch.id, kind, actor=actor("qc"))
    page = c.get(f"/batches/{batch.id}/qc").get_data(as_text=True)
    row = results_by_code(batch.id)["ENDOTOXIN"]
    assert f'name="sample_{row.id}"' in page and "Choose the sample…" in page
    assert "Measured on</span> Release testing sample #" in page
    chosen = [s.id for s in qc.batch_samples(batch.id) if s.sample_type == "ENDOTOXIN"][0]
    r = c.post(
        f"/batches/{batch.id}/qc/save",
        data={f"sample_{row.id}": str(chosen), "intent": "submit"},
        follow_redirects=True,
    )
    assert "Results submitted for review." in r.get_data(as_text=True)
    page = c.get(f"/batches/{batch.id}/qc").get_data(as_text=True)
    assert f"Endotoxin sample #{chosen}, taken" in page
    report = c.get(f"/qc/reports?report=results&product={batch.product_id}").get_data(as_text=True)
    assert "Sample" in report and f"Endotoxin #{chosen}, taken" in report
