"""The migrations and the models describe the same schema.

The session database was built from empty by `flask db upgrade` (tests/conftest.py). Alembic's
autogenerate comparison against the models must find nothing to do: a model change without its
migration (or a migration the models do not reflect) fails here, not in production.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext


def _diffs(app, metadata=None):
    from app.core.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        migrate_cfg = app.extensions["migrate"].configure_args
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": migrate_cfg.get("compare_type", True),
                "compare_server_default": False,
                "include_object": migrate_cfg.get("include_object"),
            },
        )
        return compare_metadata(context, metadata if metadata is not None else db.metadata)


def test_migrated_database_matches_the_models(app):
    diffs = _diffs(app)
    assert diffs == [], "models and migrations differ:\n" + "\n".join(map(repr, diffs))


def test_comparison_notices_a_model_change_without_migration(app):
    from sqlalchemy import Column, MetaData, String

    from app.core.extensions import db

    copy = MetaData()
    for table in db.metadata.tables.values():
        table.to_metadata(copy)
    copy.tables["audit_log"].append_column(Column("not_migrated", String(10)))
    diffs = _diffs(app, copy)
    assert [d[0] for d in diffs] == ["add_column"]


def test_database_is_at_the_single_head(app):
    from alembic.script import ScriptDirectory

    from app.core.extensions import db

    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        heads = ScriptDirectory.from_config(config).get_heads()
        with db.engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_heads()
    assert len(heads) == 1, f"migrations have several heads: {heads}"
    assert tuple(current) == tuple(heads)
