"""auth tokens: refresh tokens (rotation, reuse detection) and revocations

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa

import backend.models.types

# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('refresh_tokens',
    sa.Column('jti', sa.String(length=36), nullable=False),
    sa.Column('family_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', backend.models.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', backend.models.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('used_at', backend.models.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', backend.models.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('jti')
    )
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_refresh_tokens_family_id', ['family_id'], unique=False)
        batch_op.create_index('ix_refresh_tokens_user_id_expires_at', ['user_id', 'expires_at'], unique=False)

    op.create_table('token_revocations',
    sa.Column('token_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('revoked_at', backend.models.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', backend.models.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_id')
    )
    with op.batch_alter_table('token_revocations', schema=None) as batch_op:
        batch_op.create_index('ix_token_revocations_expires_at', ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('token_revocations', schema=None) as batch_op:
        batch_op.drop_index('ix_token_revocations_expires_at')

    op.drop_table('token_revocations')
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_refresh_tokens_user_id_expires_at')
        batch_op.drop_index('ix_refresh_tokens_family_id')

    op.drop_table('refresh_tokens')
