"""saved views: a user's named filter sets for the batch list

One row per (user, page, name); names are unique per user and page ignoring case (functional
unique index). Not a GMP record: no audit trigger, rows go with their user (ON DELETE CASCADE).

Revision ID: 0007_saved_views
Revises: 0006_batch_qc
Create Date: 2026-11-22 02:09:31.870617

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007_saved_views'
down_revision = '0006_batch_qc'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('saved_view',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('page', sa.String(length=32), server_default='batches', nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('query', sa.String(length=2000), server_default='', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('length(btrim(name)) > 0', name='ck_saved_view_name'),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('saved_view', schema=None) as batch_op:
        batch_op.create_index('uq_saved_view_user_page_name', ['user_id', 'page', sa.literal_column('lower(name)')], unique=True)



def downgrade():
    with op.batch_alter_table('saved_view', schema=None) as batch_op:
        batch_op.drop_index('uq_saved_view_user_page_name')

    op.drop_table('saved_view')
