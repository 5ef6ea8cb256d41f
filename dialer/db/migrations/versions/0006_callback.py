"""callback: the agent, talk seconds and cost of an agent callback; a contact's source

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("agent", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("talk_seconds", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("cost", sa.String(length=24), nullable=True))
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("agent", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("source", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("source")
        batch.drop_column("agent")
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("cost")
        batch.drop_column("talk_seconds")
        batch.drop_column("agent")
