"""The shared signature dialog and manifestation macros render what a signer must see."""

from __future__ import annotations

import datetime as dt

from flask import g, render_template_string

from app.security.models import ESignature

DIALOG = """{% import "security/esign_macros.html" as esign %}
{{ esign.signature_dialog("release-dialog", "/release/7", meaning="QP certification: released for human use",
   impact="This will unlock Dispensing.", hidden={"disposition": "RELEASE"}, comment_required=True) }}"""


class _User:
    is_authenticated = True
    first_name, last_name = "Dr. Sara", "Mansour"


def test_signature_dialog_shows_meaning_impact_and_asks_for_the_password(app_ctx):
    g.user = _User()
    html = render_template_string(DIALOG)
    assert 'id="release-dialog"' in html and 'action="/release/7"' in html
    assert "QP certification: released for human use" in html and "This will unlock Dispensing." in html
    assert 'type="password"' in html and 'autocomplete="current-password"' in html
    assert 'name="csrf_token"' in html and 'name="meaning" value="QP certification' in html
    assert 'name="disposition" value="RELEASE"' in html and 'name="comment"' in html
    assert "rp-sign-error" in html and 'role="alert"' in html and "as <strong" in html
    assert "js/esign.js" in html


def _sig() -> ESignature:
    return ESignature(
        id=5,
        scope="BATCH_RELEASE",
        signer_name="Dr. Sara Mansour",
        signer_roles="QP",
        meaning="QP certification: released for human use",
        comment="Clean batch",
        signed_at=dt.datetime(2026, 11, 22, 6, 30, 5, tzinfo=dt.UTC),
    )


def test_manifestation_macro_renders_a_signature_row_and_the_manifestation_dict_alike(app_ctx):
    from app.security.esign import manifestation

    template = '{% import "security/esign_macros.html" as esign %}{{ esign.manifestation(sig) }}'
    for sig in (_sig(), manifestation(_sig())):
        html = render_template_string(template, sig=sig)
        assert "Dr. Sara Mansour" in html and "(QP)" in html
        assert "QP certification: released for human use" in html
        assert "22 Nov 2026 06:30:05 UTC" in html and "22 Nov 2026 09:30" in html and "Asia/Riyadh" in html
        assert "Clean batch" in html
