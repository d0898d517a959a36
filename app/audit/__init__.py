"""Audit: the HMAC-chained, append-only audit trail, its verification, anchors and its viewer."""

from __future__ import annotations


def register(appbuilder) -> None:
    """This part's menu entries, views, the chain's session hooks and the scheduled checkpoint."""
    from flask import current_app

    from app.audit import chain, coverage, views
    from app.audit.jobs import anchor_chain
    from app.core.jobs import register_periodic

    chain.install()
    coverage.install()
    views.register(appbuilder)
    every = int(current_app.config.get("AUDIT_ANCHOR_EVERY_SECONDS") or 0)
    if every > 0:
        register_periodic("audit-anchor-chain", anchor_chain, every_seconds=every)
