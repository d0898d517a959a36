"""SQLAlchemy tables on FAB's Model. Importing this package registers every table."""

from app.models.audit import AuditLog, AuditVerification  # noqa: F401
from app.models.esign import ESignature, SignatureFailure  # noqa: F401
