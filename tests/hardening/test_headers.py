"""Security headers and CSP on every response (issue 14, section 1)."""

from __future__ import annotations

from tests.conftest import login_page


def test_pages_carry_csp_with_nonce_and_security_headers(client):
    login_page(client, "admin")
    r = client.get("/batches/")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp and "'unsafe-inline'" not in csp.split("style-src")[0]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "same-origin"
    nonce = csp.split("'nonce-")[1].split("'")[0]
    html = r.get_data(as_text=True)
    # every inline executable script carries this response's nonce
    import re

    for tag in re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html):
        assert f'nonce="{nonce}"' in tag, tag
    assert not re.search(r"\son(click|change|load|submit|mouseover)=", html)


def test_api_answers_carry_headers(api):
    r = api("admin").get("/api/v1/batches/")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY" and r.headers["Referrer-Policy"] == "same-origin"
    # a JSON answer runs nothing: the strictest policy, and no nonce
    assert r.headers["Content-Security-Policy"] == (
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
