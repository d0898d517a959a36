"""QC: test catalog, templates, batch QC sessions, results, review, OOS and reports."""

from __future__ import annotations


def register(appbuilder) -> None:
    """This part's menu entries, views and APIs."""
    from app.batches import hooks
    from app.qc import api, gate, views

    hooks.register_qc_gate(gate)
    views.register(appbuilder)
    api.register(appbuilder)
