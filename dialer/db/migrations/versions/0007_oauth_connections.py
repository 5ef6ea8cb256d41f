"""oauth_connections: provider accounts authorised with OAuth 2.0, tokens sealed

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dialer.db.types import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oauth_connections",
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column("access_expires_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("refresh_expires_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("state_hash", sa.String(length=64), nullable=True),
        sa.Column("state_expires_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("connected_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("refreshed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider"),
    )


def downgrade() -> None:
    op.drop_table("oauth_connections")
