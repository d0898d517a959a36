"""The table registry: importing this module registers every part's tables on FAB's metadata
(Alembic's autogenerate and the schema test read it). Parts are listed in their order."""

from app.audit import models as audit  # noqa: F401
from app.batches import ebr_models as batches_ebr  # noqa: F401
from app.batches import models as batches  # noqa: F401
from app.capacity import models as capacity  # noqa: F401
from app.dispensing import models as dispensing  # noqa: F401
from app.genealogy import models as genealogy  # noqa: F401
from app.kpis import models as kpis  # noqa: F401
from app.logistics import models as logistics  # noqa: F401
from app.masterdata import models as masterdata  # noqa: F401
from app.notifications import models as notifications  # noqa: F401
from app.orders import models as orders  # noqa: F401
from app.qc import imports_models as qc_imports  # noqa: F401
from app.qc import models as qc  # noqa: F401
from app.release import models as release  # noqa: F401
from app.security import models as security  # noqa: F401
