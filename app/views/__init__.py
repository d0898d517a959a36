"""Browser pages: FAB ModelViews for master data, custom pages for the batch journey and others."""

from __future__ import annotations


def register(appbuilder) -> None:
    """Add every page to FAB. Each area module owns its own `register(appbuilder)`."""
    from app.views import audit, home, notifications

    home.register(appbuilder)
    from app.views import batches  # first in the menu: the batch list is where the day starts

    batches.register(appbuilder)
    audit.register(appbuilder)
    notifications.register(appbuilder)
    from app.views import master_data

    master_data.register(appbuilder)
    from app.views import batch_states

    batch_states.register(appbuilder)
    from app.views import release

    release.register(appbuilder)
    from app.views import qc

    qc.register(appbuilder)
