"""Checkpoints of the chain head kept outside the database.

A person with database superuser rights can delete the newest rows of the trail, or the table of
past verifications, and what is left still chains perfectly. So every good verification (and a
scheduled job) writes the head it saw - count, last id, last hash, the first HMAC entry - to a
store the database cannot reach, signed with the audit HMAC key; verification compares the trail
with the newest checkpoint. `AnchorStore` is the seam for a remote store (object storage with
retention lock, a timestamping service); `DirectoryAnchorStore` writes one new file per checkpoint
(`AUDIT_ANCHOR_DIR`, default instance/audit-anchors/<database>/), never rewriting an old one.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from app.audit import chain


@dataclass(frozen=True)
class Anchor:
    database: str
    seq: int
    written_at: str
    entries: int
    head_id: int
    head_hash: str
    boundary_id: int | None  # the first HMAC entry: everything before it is the legacy database chain
    verification_id: int | None
    signature: str = ""

    def payload(self) -> dict:
        data = asdict(self)
        data.pop("signature")
        return data

    def signed(self, key: bytes) -> Anchor:
        return Anchor(**{**self.payload(), "signature": chain.sign(key, self.payload())})

    def signature_ok(self, key: bytes) -> bool:
        import hmac

        return hmac.compare_digest(self.signature, chain.sign(key, self.payload()))


class AnchorStore(Protocol):
    def latest(self, database: str) -> Anchor | None: ...

    def append(self, anchor: Anchor) -> None: ...


class DirectoryAnchorStore:
    """One JSON file per checkpoint, created exclusively and made read-only; the newest wins."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _dir(self, database: str) -> Path:
        return self.root / re.sub(r"[^A-Za-z0-9_.-]", "_", database)

    def latest(self, database: str) -> Anchor | None:
        folder = self._dir(database)
        if not folder.is_dir():
            return None
        files = sorted(folder.glob("anchor-*.json"))
        if not files:
            return None
        return Anchor(**json.loads(files[-1].read_text()))

    def append(self, anchor: Anchor) -> None:
        folder = self._dir(anchor.database)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / f"anchor-{anchor.seq:012d}.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
        with os.fdopen(fd, "w") as fh:
            json.dump(asdict(anchor), fh, sort_keys=True, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(path, stat.S_IRUSR)


def store() -> AnchorStore:
    from flask import current_app

    root = current_app.config.get("AUDIT_ANCHOR_DIR") or os.path.join(
        current_app.instance_path, "audit-anchors"
    )
    return DirectoryAnchorStore(root)
