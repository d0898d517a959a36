"""hardening (issue 14)

Revision ID: 0014_hardening
Revises: 0013_permissions_version
Create Date: 2026-11-29

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "0014_hardening"
down_revision = "0013_permissions_version"
branch_labels = None
depends_on = None


def upgrade():
    # issue 15: each QC result names the sample it was measured on (2-cyclotron 1.4)
    with op.batch_alter_table("batch_qc_result", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sample_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_batch_qc_result_sample_id"), ["sample_id"], unique=False)
        batch_op.create_foreign_key(
            "batch_qc_result_sample_id_fkey", "batch_qc_sample", ["sample_id"], ["id"]
        )


def downgrade():
    with op.batch_alter_table("batch_qc_result", schema=None) as batch_op:
        batch_op.drop_constraint("batch_qc_result_sample_id_fkey", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_batch_qc_result_sample_id"))
        batch_op.drop_column("sample_id")
