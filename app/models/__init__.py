"""SQLAlchemy tables on FAB's Model. Importing this package registers every table."""

from app.models.audit import AuditLog, AuditVerification  # noqa: F401
from app.models.batch import Batch, BatchEvent, BatchNumberCounter, Deviation, batch_customer  # noqa: F401
from app.models.esign import ESignature, SignatureFailure  # noqa: F401
from app.models.master_data import (  # noqa: F401
    Customer,
    CustomerUser,
    HotCell,
    Material,
    MaterialLot,
    Nuclide,
    Product,
    Site,
    Supplier,
)
from app.models.notification import EmailOutbox, Notification  # noqa: F401
from app.models.qc import ProductQcTemplate, ProductQcTemplateLine, QcSpecRule, QcTestDefinition  # noqa: F401
from app.models.release import BatchDisposition, BatchReleaseSignature, QpProductAuthorisation  # noqa: F401
from app.models.saved_view import SavedView  # noqa: F401
