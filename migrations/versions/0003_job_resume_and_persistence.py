"""job resume time (paused_quota) and persistence status

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

"""
from alembic import op
import sqlalchemy as sa

import backend.models.types

# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resume_at', backend.models.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('persistence_status', sa.String(length=16), server_default='saved', nullable=False))


def downgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('persistence_status')
        batch_op.drop_column('resume_at')
