"""result cache; per-chunk retry delay, tokens used and cache hit

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import backend.models.types

# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('result_cache',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('processor', sa.String(length=32), nullable=False),
    sa.Column('model', sa.String(length=64), nullable=False),
    sa.Column('prompt_version', sa.String(length=32), nullable=False),
    sa.Column('result_json', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('tokens_used', sa.Integer(), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.Column('created_at', backend.models.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_hit_at', backend.models.types.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('job_chunks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retry_after_seconds', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('tokens_used', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('cache_hit', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('job_chunks', schema=None) as batch_op:
        batch_op.drop_column('cache_hit')
        batch_op.drop_column('tokens_used')
        batch_op.drop_column('retry_after_seconds')

    op.drop_table('result_cache')
