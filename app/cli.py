"""CLI commands: `flask rp sync-perms`, `flask rp seed`, `flask audit verify`."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup

rp = AppGroup("rp", help="RadioPharma set-up commands.")
audit_cli = AppGroup("audit", help="Audit trail commands.")


@rp.command("sync-perms")
def sync_perms() -> None:
    """Create FAB permissions for every view and make roles match the role matrix."""
    from app.security.sync import sync_roles

    changed = sync_roles(current_app.appbuilder)  # type: ignore[attr-defined]
    click.echo(f"roles synchronised ({sum(changed.values())} permission changes)")


@rp.command("seed")
@click.option("--demo/--no-demo", default=True, help="Also load demo batches, orders and users.")
def seed(demo: bool) -> None:
    """Load master data (and demo data) idempotently."""
    from seeds import run_seeds

    summary = run_seeds(demo=demo)
    click.echo(f"seeded: {summary}")


@audit_cli.command("verify")
def verify() -> None:
    """Walk the hash chain: `OK <n> entries` (exit 0) or the first broken entry (exit 1)."""
    from app.audit.service import verify_and_log

    result = verify_and_log("flask audit verify")
    click.echo(result.message)
    sys.exit(0 if result.ok else 1)


def register_cli(app: Flask) -> None:
    app.cli.add_command(rp)
    app.cli.add_command(audit_cli)
