"""Security."""

from __future__ import annotations


def register(appbuilder) -> None:
    """This part's menu entries, views and APIs."""
    return None  # FAB's security views come with the security manager (config.FAB_SECURITY_MANAGER_CLASS)
