"""The tamper corpus: each tests/audit/tamper/*.sql is run as database superuser against a trail with a
known clean chain, and `flask audit verify` must name the first broken entry every time.

The clean state is committed once for the module (a batch with its sealed events, six entries e1..e6,
a good verification anchored in a checkpoint directory of its own). Each script then runs inside a
transaction on one connection together with the verification, and is rolled back, so every scenario
starts from the same clean chain. A script names what verify must report in its header:
`-- expect: {e3}` (an entry id, from the placeholders below) or `-- expect: text:<words>`.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import text

from app.audit import service as audit
from app.core.actor import SYSTEM
from app.core.extensions import db
from tests.batch_factories import new_batch
from tests.conftest import (
    remove_rows_added_since,
    rolled_back,
    snapshot_kept_tables,
    truncate_business_tables,
)

CORPUS = sorted((Path(__file__).parent / "tamper").glob("*.sql"))


@pytest.fixture(scope="module")
def clean_chain(app):
    kept = snapshot_kept_tables(app)
    anchors_before = app.config["AUDIT_ANCHOR_DIR"]
    app.config["AUDIT_ANCHOR_DIR"] = tempfile.mkdtemp(prefix="rp-tamper-anchors-")
    with app.test_request_context():
        batch_id = new_batch().id
        db.session.commit()
        for i in range(1, 7):
            audit.record("TamperTest", f"e{i}", "UPDATE", after={"i": i}, reason=f"step {i}", actor=SYSTEM)
        db.session.commit()
        result = audit.verify_and_log("tamper corpus set-up")
        assert result.ok, result.message
        db.session.remove()
    yield batch_id
    app.config["AUDIT_ANCHOR_DIR"] = anchors_before
    remove_rows_added_since(app, kept)
    truncate_business_tables(app)


def _placeholders(batch_id: int) -> dict[str, str]:
    one = lambda sql: db.session.execute(text(sql)).scalar_one()  # noqa: E731
    values = {
        f"e{i}": one(f"SELECT id FROM audit_log WHERE entity_type='TamperTest' AND entity_id='e{i}'")
        for i in range(1, 7)
    }
    values["head"] = one("SELECT max(id) FROM audit_log")
    values["next"] = values["head"] + 1
    values["first"] = one("SELECT min(id) FROM audit_log")
    values["first_verified"] = one("SELECT min(id) FROM audit_log WHERE action = 'VERIFIED'")
    values["batch"] = batch_id
    values["event"] = one(f"SELECT min(id) FROM batch_event WHERE batch_id = {batch_id}")
    values["seal"] = one(
        "SELECT id FROM audit_log WHERE action = 'SEALED' AND entity_type = 'batch_event' "
        f"AND entity_id = '{values['event']}'"
    )
    values["after_seal"] = values["seal"] + 1
    return {k: str(v) for k, v in values.items()}


def _verify(app) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    return result.exit_code, result.output.strip()


def test_the_corpus_has_at_least_twenty_scenarios():
    assert len(CORPUS) >= 20


def test_a_clean_chain_verifies_ok(app, clean_chain):
    with rolled_back(app):
        code, output = _verify(app)
    assert code == 0 and re.fullmatch(r"OK \d+ entries", output), output


@pytest.mark.parametrize("script", CORPUS, ids=[p.stem for p in CORPUS])
def test_verify_names_the_first_broken_entry(app, clean_chain, script):
    source = script.read_text()
    expect = re.search(r"^-- expect: (.+)$", source, re.M)
    assert expect, f"{script.name} names no expectation"
    with rolled_back(app):
        values = _placeholders(clean_chain)
        sql = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], source)
        wanted = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], expect.group(1))
        db.session.connection().exec_driver_sql(sql)
        code, output = _verify(app)
    assert code == 1, f"{script.name}: {output}"
    if wanted.startswith("text:"):
        assert wanted[5:] in output, f"{script.name}: {output}"
    else:
        assert re.match(rf"Entry {wanted}\b", output), f"{script.name}: expected entry {wanted}: {output}"
