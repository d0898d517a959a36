"""/batches/states draws the machine from the code, for anyone who may read batches."""

from __future__ import annotations

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
