"""/batches/states draws the machine from the code, for anyone who may read batches."""

from __future__ import annotations

import re

from tests.conftest import login_page


def test_states_page_renders_the_generated_diagram_and_the_table(client):
    login_page(client, "prod")
    r = client.get("/batches/states?view=all")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "stateDiagram-v2" in html and "vendor/mermaid-11.12.0/mermaid.min.js" in html
    assert "Start production" in html and "QP e-signature" in html
    focus = client.get("/batches/states?state=ON_HOLD").get_data(as_text=True)
    assert "Moves out of On Hold" in focus and "Lift hold" in focus
    final = client.get("/batches/states?state=CLOSED").get_data(as_text=True)
    assert "final state" in final
    assert client.get("/batches/states?state=<script>").status_code == 200  # unknown: whole machine


def test_states_page_needs_a_login(client):
    r = client.get("/batches/states")
    assert r.status_code in (302, 401, 403)


INTERNAL_WORDS = re.compile(r"\b[A-Z][A-Z_]{5,}\b|app/|\.py\b")


def test_states_page_speaks_in_words_not_code(client):
    from tests.conftest import login_page

    login_page(client, "planner")
    html = client.get("/batches/states?view=all").get_data(as_text=True)
    text = re.sub(r"<pre class=\"mermaid\".*?</pre>|<script.*?</script>|<[^>]+>", " ", html, flags=re.S)
    assert "app/batches" not in html
    assert "TRANSITION_NOT_ALLOWED" not in text and "ALLOW_ADMIN_OVERRIDE" not in text
    assert "QC session has passed" in text


def test_hospital_sees_its_order_journey_not_the_state_machine(client):
    from tests.conftest import login_page

    login_page(client, "hospital")
    r = client.get("/batches/states")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "How your order reaches you" in html
    assert 'class="mermaid"' not in html and "Every transition" not in html
    body = re.sub(r"<script.*?</script>|<style.*?</style>|<[^>]+>", " ", html, flags=re.S)
    assert not INTERNAL_WORDS.findall(body.split("How your order reaches you", 1)[1])
