"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dialer.db.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("state_reason", sa.String(length=500), nullable=True),
        sa.Column("config_json", sa.Text(), nullable=False),
        sa.Column("source_path", sa.String(length=1000), nullable=True),
        sa.Column("created_at", dialer.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", dialer.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", dialer.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", dialer.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaigns_name"), ["name"], unique=True)

    op.create_table(
        "dnc",
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", dialer.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("phone"),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", dialer.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("route", sa.String(length=8), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=True),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.Column("provider_id", sa.String(length=100), nullable=True),
        sa.Column("payload_json", sa.Text(), nullable=True),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("applied_at", dialer.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_attempt_id"), ["attempt_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_provider_id"), ["provider_id"], unique=False)
        batch_op.create_index("ix_events_status", ["status", "id"], unique=False)

    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("budget_used", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", dialer.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("timezones", sa.String(length=500), nullable=False),
        sa.Column("region", sa.String(length=2), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("fields_json", sa.Text(), nullable=False),
        sa.Column("last_attempt_id", sa.Integer(), nullable=True),
        sa.Column("last_attempt_at", dialer.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_cause", sa.Integer(), nullable=True),
        sa.Column("duration", sa.Integer(), nullable=True),
        sa.Column("dtmf", sa.String(length=4), nullable=True),
        sa.Column("dtmf_label", sa.String(length=100), nullable=True),
        sa.Column("transfer_duration", sa.Integer(), nullable=True),
        sa.Column("sms_status", sa.String(length=24), nullable=True),
        sa.Column("updated_at", dialer.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("phone", "campaign_id", name="uq_contacts_phone_campaign"),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contacts_due", ["campaign_id", "status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "loads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("source_path", sa.String(length=1000), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("loaded", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("suppressed", sa.Integer(), nullable=False),
        sa.Column("rejects_file", sa.String(length=1000), nullable=True),
        sa.Column("created_at", dialer.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("loads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loads_campaign_id"), ["campaign_id"], unique=False)

    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.Column("provider_id", sa.String(length=100), nullable=True),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("counts_budget", sa.Boolean(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("cause", sa.Integer(), nullable=True),
        sa.Column("duration", sa.Integer(), nullable=True),
        sa.Column("dtmf", sa.String(length=4), nullable=True),
        sa.Column("dtmf_label", sa.String(length=100), nullable=True),
        sa.Column("transfer_number", sa.String(length=16), nullable=True),
        sa.Column("transfer_cause", sa.Integer(), nullable=True),
        sa.Column("transfer_duration", sa.Integer(), nullable=True),
        sa.Column("sms_status", sa.String(length=24), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", dialer.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("enqueued_at", dialer.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("not_before", dialer.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("dialing_at", dialer.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("submitted_at", dialer.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_at", dialer.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", dialer.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("slot_released_at", dialer.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", dialer.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_attempts_campaign_status", ["campaign_id", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_attempts_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_attempts_provider_id"), ["provider_id"], unique=False)
        batch_op.create_index("ix_attempts_status_updated", ["status", "updated_at"], unique=False)
        batch_op.create_index(
            "uq_attempts_live_contact",
            ["contact_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('dialing', 'queued', 'submitted', 'unknown')"),
            postgresql_where=sa.text("status IN ('dialing', 'queued', 'submitted', 'unknown')"),
        )


def downgrade() -> None:

    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_attempts_live_contact",
            sqlite_where=sa.text("status IN ('dialing', 'queued', 'submitted', 'unknown')"),
            postgresql_where=sa.text("status IN ('dialing', 'queued', 'submitted', 'unknown')"),
        )
        batch_op.drop_index("ix_attempts_status_updated")
        batch_op.drop_index(batch_op.f("ix_attempts_provider_id"))
        batch_op.drop_index(batch_op.f("ix_attempts_contact_id"))
        batch_op.drop_index("ix_attempts_campaign_status")

    op.drop_table("attempts")
    with op.batch_alter_table("loads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loads_campaign_id"))

    op.drop_table("loads")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_due")

    op.drop_table("contacts")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_status")
        batch_op.drop_index(batch_op.f("ix_events_provider_id"))
        batch_op.drop_index(batch_op.f("ix_events_attempt_id"))

    op.drop_table("events")
    op.drop_table("dnc")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaigns_name"))

    op.drop_table("campaigns")
