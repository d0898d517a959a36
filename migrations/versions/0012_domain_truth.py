"""domain truth: rule types, snapshots and limits from the QC/decay/release review (issue 13)

- strict rule types GT (>) and LT (<) next to MIN (>=) and MAX (<=);
- per-volume limits (endotoxins 175/V): qc_spec_rule.per_volume, frozen on batch_qc_result with V;
- the endotoxin test reads in EU/mL (the per-volume limit is per millilitre);
- half-life identity readings kept with the result and each recorded value;
- user_preference: activity shown in MBq or mCi per person.

Revision ID: 0012_domain_truth
Revises: 0011_capacity_orders
Create Date: 2026-11-29

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0012_domain_truth'
down_revision = '0011_capacity_orders'
branch_labels = None
depends_on = None

NEW_TYPES = "('MIN', 'MAX', 'GT', 'LT', 'RANGE', 'EQUAL', 'PASS_FAIL_ONLY', 'CUSTOM_TEXT')"
OLD_TYPES = "('MIN', 'MAX', 'RANGE', 'EQUAL', 'PASS_FAIL_ONLY', 'CUSTOM_TEXT')"


def upgrade():
    op.drop_constraint('ck_qc_spec_rule_type', 'qc_spec_rule', type_='check')
    op.create_check_constraint('ck_qc_spec_rule_type', 'qc_spec_rule', f"rule_type IN {NEW_TYPES}")
    op.add_column('qc_spec_rule', sa.Column('per_volume', sa.Boolean(), server_default=sa.text('false'), nullable=False))
    op.create_check_constraint(
        'ck_qc_spec_rule_per_volume', 'qc_spec_rule', "NOT per_volume OR (rule_type IN ('MAX', 'LT') AND max_value > 0)"
    )
    op.add_column('batch_qc_result', sa.Column('per_volume', sa.Boolean(), server_default=sa.text('false'), nullable=False))
    op.add_column('batch_qc_result', sa.Column('volume_ml', sa.Numeric(precision=8, scale=2), nullable=True))
    op.add_column('batch_qc_result', sa.Column('readings', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.create_check_constraint('ck_batch_qc_result_volume', 'batch_qc_result', "volume_ml IS NULL OR volume_ml > 0")
    op.add_column('batch_qc_result_value', sa.Column('readings', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.execute("UPDATE qc_test_definition SET unit = 'EU/mL' WHERE code = 'ENDOTOXIN' AND unit = 'EU/V'")
    op.create_table(
        'user_preference',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('activity_unit', sa.String(length=8), server_default='MBq', nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint("activity_unit IN ('MBq', 'mCi')", name='ck_user_preference_activity_unit'),
        sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id'),
    )


def downgrade():
    op.drop_table('user_preference')
    op.execute("UPDATE qc_test_definition SET unit = 'EU/V' WHERE code = 'ENDOTOXIN' AND unit = 'EU/mL'")
    op.drop_column('batch_qc_result_value', 'readings')
    op.drop_constraint('ck_batch_qc_result_volume', 'batch_qc_result', type_='check')
    op.drop_column('batch_qc_result', 'readings')
    op.drop_column('batch_qc_result', 'volume_ml')
    op.drop_column('batch_qc_result', 'per_volume')
    op.drop_constraint('ck_qc_spec_rule_per_volume', 'qc_spec_rule', type_='check')
    op.drop_column('qc_spec_rule', 'per_volume')
    op.execute("UPDATE qc_spec_rule SET rule_type = CASE rule_type WHEN 'GT' THEN 'MIN' ELSE 'MAX' END WHERE rule_type IN ('GT', 'LT')")
    op.drop_constraint('ck_qc_spec_rule_type', 'qc_spec_rule', type_='check')
    op.create_check_constraint('ck_qc_spec_rule_type', 'qc_spec_rule', f"rule_type IN {OLD_TYPES}")
