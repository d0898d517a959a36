"""PUBLIC_BASE_URL: absolute links in e-mails (configured, else the request's address, else the
development server's)."""

from __future__ import annotations

from app.notifications import service as notifications


def test_configured_base_url_wins(app_ctx, monkeypatch):
    monkeypatch.setitem(app_ctx.config, "PUBLIC_BASE_URL", "https://rp.example.org/")
    assert notifications._absolute("/batches/7") == "https://rp.example.org/batches/7"


def test_without_config_a_request_gives_its_own_address(app_ctx, monkeypatch):
    monkeypatch.setitem(app_ctx.config, "PUBLIC_BASE_URL", None)
    with app_ctx.test_request_context("/", base_url="https://cyclotron.local:8443"):
        assert notifications._absolute("/batches/7") == "https://cyclotron.local:8443/batches/7"


def test_without_config_or_request_the_development_address(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", None)
    with app.app_context():
        assert notifications._absolute("/batches/7") == "http://127.0.0.1:5000/batches/7"
        assert notifications._absolute("https://elsewhere/x") == "https://elsewhere/x"
