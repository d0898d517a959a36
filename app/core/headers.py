"""Security headers on every response, with a Content-Security-Policy (issue 14, section 1).

Scripts run only from this origin or, when inline, with this response's nonce: an injected
`onmouseover=` attribute or `<script>` cannot run, and nothing loads from a foreign origin. FAB's own
templates already put `nonce="{{ baselib.get_nonce() }}"` on their inline scripts when a
`csp_nonce()` global exists; ours use `nonce="{{ csp_nonce() }}"`. Styles keep 'unsafe-inline'
(Bootstrap 3, FAB's widgets and our templates set `style=` attributes); a style cannot run script.
"""

from __future__ import annotations

import secrets

from flask import Flask, g, has_request_context


def csp_nonce() -> str:
    if not has_request_context():
        return ""
    nonce = getattr(g, "_csp_nonce", None)
    if nonce is None:
        nonce = g._csp_nonce = secrets.token_urlsafe(16)
    return nonce


def content_security_policy(nonce: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "script-src-attr 'none'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


# A JSON answer runs no script and loads nothing: it gets the strictest policy, no nonce to draw.
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
_FIXED = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
)


def init_headers(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        if "Content-Security-Policy" not in headers:
            policy = DATA_POLICY if response.mimetype == "application/json" else None
            headers["Content-Security-Policy"] = policy or content_security_policy(csp_nonce())
        for name, value in _FIXED:
            if name not in headers:
                headers[name] = value
        return response
