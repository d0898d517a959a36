"""Application factory.

The app is one package per part of the business (ARCHITECTURE.md). `PARTS` is their order, lowest
first: a part imports only parts before it (tests/test_architecture.py enforces it), and
`create_app` registers them in this order. `MENU_ORDER` is the reading order of the navbar, which is
a user's concern, not the import order.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from flask_appbuilder import AppBuilder

from app.core.extensions import csrf, db, migrate

PARTS = (
    "core",
    "audit",
    "notifications",
    "security",
    "masterdata",
    "genealogy",
    "capacity",
    "orders",
    "batches",
    "qc",
    "release",
    "dispensing",
    "logistics",
    "planning",
    "kpis",
    "home",
)
MENU_ORDER = ("Batches", "Quality", "Notifications", "Master data", "QC")

MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")


def create_app(config_class: type | None = None) -> Flask:
    if config_class is None:
        from config import Config

        config_class = Config
    app = Flask(__name__, instance_path=str(Path(__file__).resolve().parent.parent / "instance"))
    app.config.from_object(config_class)
    config_class.refuse_unsafe_defaults(app.config)  # type: ignore[attr-defined]
    logging.basicConfig(level=logging.INFO if not app.config.get("TESTING") else logging.WARNING)

    db.init_app(app)
    from app.core.readonly import init_readonly_commit

    init_readonly_commit(app, db)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, compare_type=True)
    csrf.init_app(app)

    from app import models  # noqa: F401  (registers every table on the metadata)
    from app.core.errors import register_error_handlers
    from app.core.tracing import init_tracing
    from app.core.web import init_web

    init_tracing(app)
    with app.app_context():
        appbuilder = AppBuilder(update_perms=False)
        appbuilder.init_app(app, db.session)
        register_parts(appbuilder)
        # FAB's BaseApi blueprints use JWT bearer tokens, not cookies: CSRF does not apply to them.
        for bp_name, bp in app.blueprints.items():
            if bp_name.endswith("Api") or bp_name == "SecurityApi":
                csrf.exempt(bp)
    register_error_handlers(app)
    init_web(app)

    from app.cli import register_cli

    register_cli(app)
    return app


def register_parts(appbuilder) -> None:
    """Each part adds its own menu entries, views and APIs, lowest part first."""
    import importlib

    for name in PARTS:
        try:
            part = importlib.import_module(f"app.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"app.{name}":
                raise
            continue  # a part that has not landed yet
        register = getattr(part, "register", None)
        if register is not None:
            register(appbuilder)
    rank = {name: i for i, name in enumerate(MENU_ORDER)}
    appbuilder.menu.menu.sort(key=lambda item: rank.get(item.name, len(rank)))
