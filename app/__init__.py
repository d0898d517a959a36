"""Application factory."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from flask_appbuilder import AppBuilder

from app.extensions import csrf, db, migrate

MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")


def create_app(config_class: type | None = None) -> Flask:
    if config_class is None:
        from config import Config

        config_class = Config
    app = Flask(__name__, instance_path=str(Path(__file__).resolve().parent.parent / "instance"))
    app.config.from_object(config_class)
    config_class.refuse_unsafe_defaults(app.config)
    logging.basicConfig(level=logging.INFO if not app.config.get("TESTING") else logging.WARNING)

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, compare_type=True)
    csrf.init_app(app)

    from app import models  # noqa: F401  (registers every table on the metadata)
    from app.errors import register_error_handlers
    from app.tracing import init_tracing
    from app.web import init_web

    init_tracing(app)
    with app.app_context():
        appbuilder = AppBuilder(update_perms=False)
        appbuilder.init_app(app, db.session)
        from app import api, views

        views.register(appbuilder)
        api.register(appbuilder)
        # FAB's BaseApi blueprints use JWT bearer tokens, not cookies: CSRF does not apply to them.
        for bp_name, bp in app.blueprints.items():
            if bp_name.endswith("Api") or bp_name == "SecurityApi":
                csrf.exempt(bp)
    register_error_handlers(app)
    init_web(app)

    from app.cli import register_cli

    register_cli(app)
    return app
