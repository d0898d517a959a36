"""QC result attachments (chromatograms, LAL and GC reports, photos).

Rules enforced here:
- at most QC_ATTACHMENT_MAX_BYTES per file (5 MB by default; exactly the limit is accepted): the
  adapter refuses a larger Content-Length before reading the body, and the copy stops at limit+1
  bytes, so an oversized file is never stored (413 FILE_TOO_LARGE);
- only the types in QC_ATTACHMENT_TYPES (pdf, jpg, png, docx), recognised by their content (magic
  bytes; a DOCX must be a real Office Open XML document) *and* by an extension that agrees: a
  renamed executable is 415 FILE_TYPE_NOT_ALLOWED;
- files live under UPLOAD_DIR (outside the web root) under random names; the SHA-256 is stored and
  checked again on download; the original name is kept only for display;
- before-release rows take files while the session is open, after-release rows any time after
  production; every upload is audited and counted on its row;
- a file is served only to a user who may see its batch (QC session read permission, checked by
  the adapter, plus the batch visibility check here).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from flask import current_app

from app.audit import service as audit
from app.core import clock
from app.core.actor import Actor, current_actor
from app.core.domain import DomainError, NotFound
from app.core.extensions import db
from app.qc.models import BatchQcAttachment, BatchQcResult

CHUNK = 64 * 1024
# Multipart framing around the file (boundaries, part headers, a CSRF field): allowed on top of
# the file limit when judging Content-Length.
MULTIPART_OVERHEAD = 64 * 1024

MIME = {
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "png": "image/png",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
EXTENSIONS = {"pdf": ("pdf",), "jpg": ("jpg", "jpeg"), "png": ("png",), "docx": ("docx",)}


def max_bytes() -> int:
    return int(current_app.config.get("QC_ATTACHMENT_MAX_BYTES", 5 * 1024 * 1024))


def allowed_types() -> tuple[str, ...]:
    return tuple(
        t.lower() for t in current_app.config.get("QC_ATTACHMENT_TYPES", ("pdf", "jpg", "png", "docx"))
    )


def too_large(size: int | None = None) -> DomainError:
    limit_mb = max_bytes() / (1024 * 1024)
    what = f" ({size / (1024 * 1024):.1f} MB)" if size else ""
    return DomainError(
        "FILE_TOO_LARGE", f"The file is too large{what}: at most {limit_mb:g} MB per attachment.", 413
    )


def request_limit() -> int:
    """The largest request body an upload may have (the file limit plus multipart framing)."""
    return max_bytes() + MULTIPART_OVERHEAD


def check_content_length(content_length: int | None) -> None:
    """Refuse before reading anything when the declared body cannot hold an allowed file."""
    if content_length is not None and content_length > request_limit():
        raise too_large(content_length)


def sniff(head: bytes, path: Path) -> str | None:
    """The file type by content: pdf, png, jpg, docx, or None."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as z:
                names = set(z.namelist())
        except (zipfile.BadZipFile, OSError):
            return None
        if "[Content_Types].xml" in names and "word/document.xml" in names:
            return "docx"
    return None


def clean_name(name: str | None) -> str:
    base = os.path.basename((name or "").replace("\\", "/")).strip()
    base = re.sub(r"[\x00-\x1f<>:\"|?*]", "_", base)[:200]
    return base or "attachment"


def _extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def upload_root() -> Path:
    root = Path(current_app.config["UPLOAD_DIR"]).resolve()
    static = Path(current_app.static_folder or "").resolve()
    if static and (root == static or static in root.parents):
        raise RuntimeError("UPLOAD_DIR must be outside the web root (static folder)")
    (root / "qc").mkdir(parents=True, exist_ok=True)
    return root


@dataclass
class Stored:
    path: Path
    size: int
    sha256: str
    kind: str


def _receive(stream: IO[bytes], root: Path) -> Stored:
    """Copy at most limit+1 bytes to a temporary file, hashing as it goes."""
    limit = max_bytes()
    tmp = root / "qc" / f".upload-{secrets.token_hex(12)}"
    digest = hashlib.sha256()
    size = 0
    head = b""
    try:
        with open(tmp, "wb") as out:
            while True:
                chunk = stream.read(min(CHUNK, limit + 1 - size))
                if not chunk:
                    break
                if not head:
                    head = chunk[:16]
                size += len(chunk)
                if size > limit:
                    raise too_large()
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise DomainError("FILE_EMPTY", "The file is empty.", 422, {"fields": {"file": "empty"}})
        kind = sniff(head, tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return Stored(tmp, size, digest.hexdigest(), kind or "")


def store_attachment(
    batch_id: int,
    result_id: int,
    stream: IO[bytes] | None,
    filename: str | None,
    *,
    actor: Actor | None = None,
) -> BatchQcAttachment:
    """Check, store and record one file for a result (see the module rules)."""
    from app.qc import service as qc

    actor = actor or current_actor()
    if stream is None:
        raise DomainError(
            "VALIDATION_ERROR", "Choose a file to upload.", 422, {"fields": {"file": "required"}}
        )
    batch, session = qc.lock_session(batch_id)
    result = qc._find_result(session, result_id)
    qc._check_may_enter(batch, session, result)
    name = clean_name(filename)
    ext = _extension(name)
    allowed = allowed_types()
    root = upload_root()
    stored = _receive(stream, root)
    try:
        if not stored.kind or stored.kind not in allowed or ext not in EXTENSIONS.get(stored.kind, ()):
            raise DomainError(
                "FILE_TYPE_NOT_ALLOWED",
                f"This file type is not accepted. Attach {', '.join(t.upper() for t in allowed)} files "
                "(checked by their content and extension).",
                415,
            )
        storage_name = f"{secrets.token_hex(16)}.{stored.kind}"
        final = root / "qc" / storage_name
        os.replace(stored.path, final)
        stored.path = final
        item = BatchQcAttachment(
            result_id=result.id,
            file_name=name,
            storage_name=storage_name,
            sha256=stored.sha256,
            file_size_bytes=stored.size,
            mime_type=MIME[stored.kind],
            uploaded_by_user_id=actor.user_id,
            uploaded_by_name=actor.printed_name,
            uploaded_at=clock.stamp(),
        )
        db.session.add(item)
        result.attachments_count = (result.attachments_count or 0) + 1
        db.session.flush()
        audit.record(
            "BatchQcResult",
            result.id,
            "ATTACH_FILE",
            after={
                "attachment_id": item.id,
                "file_name": name,
                "sha256": stored.sha256,
                "bytes": stored.size,
                "batch_id": batch.id,
                "test": result.test_code,
            },
            actor=actor,
        )
        db.session.commit()
    except BaseException:
        db.session.rollback()
        stored.path.unlink(missing_ok=True)
        raise
    return item


def attachment_for_download(
    batch_id: int, attachment_id: int, *, actor: Actor | None = None
) -> tuple[BatchQcAttachment, Path]:
    """The attachment and its file, for a user who may see the batch; the hash must still match."""
    actor = actor or current_actor()
    item = db.session.get(BatchQcAttachment, attachment_id)
    if item is None:
        raise NotFound("attachment")
    result = db.session.get(BatchQcResult, item.result_id)
    if result is None or result.session.batch_id != batch_id:
        raise NotFound("attachment")
    check_may_see_batch(batch_id, actor)
    path = upload_root() / "qc" / item.storage_name
    if not path.is_file():
        raise DomainError("FILE_MISSING", "The stored file is missing. Tell the QC Manager.", 410)
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    if digest.hexdigest() != item.sha256:
        raise DomainError("FILE_ALTERED", "The stored file no longer matches its recorded SHA-256.", 409)
    return item, path


def check_may_see_batch(batch_id: int, actor: Actor) -> None:
    """The batch's visibility rule (hospital users: their own batches only), and QC files never
    go to hospital users at all: they are the site's internal GMP records."""
    from app.batches.queries import get_visible, viewer_for

    if actor.is_system:
        return
    get_visible(batch_id, actor)
    if viewer_for(actor).restricted:
        raise DomainError("FORBIDDEN", "QC records of this batch are not available to you.", 403)


def attachments_of(result_ids: list[int]) -> dict[int, list[BatchQcAttachment]]:
    out: dict[int, list[BatchQcAttachment]] = {}
    if not result_ids:
        return out
    rows = (
        db.session.query(BatchQcAttachment)
        .filter(BatchQcAttachment.result_id.in_(result_ids))
        .order_by(BatchQcAttachment.id)
    )
    for row in rows:
        out.setdefault(row.result_id, []).append(row)
    return out


def as_dict(item: BatchQcAttachment, batch_id: int) -> dict[str, Any]:
    return {
        "id": item.id,
        "file_name": item.file_name,
        "file_size_bytes": item.file_size_bytes,
        "mime_type": item.mime_type,
        "sha256": item.sha256,
        "uploaded_by": item.uploaded_by_name,
        "uploaded_at": audit.jsonable(item.uploaded_at),
        "file_url": f"/api/v1/batches/{batch_id}/qc-attachments/{item.id}",
    }
