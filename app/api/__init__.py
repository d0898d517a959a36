"""JSON API under /api/v1 (FAB BaseApi / ModelRestApi); errors always in one shape."""

from __future__ import annotations


def register(appbuilder) -> None:
    """Add every API to FAB. Each area module owns its own `register(appbuilder)`."""
    from app.api import master_data

    master_data.register(appbuilder)
    from app.api import batches

    batches.register(appbuilder)
    from app.api import qc

    qc.register(appbuilder)
    from app.api import release

    release.register(appbuilder)
