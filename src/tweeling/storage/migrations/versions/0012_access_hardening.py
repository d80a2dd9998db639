"""Access hardening (issue 17): self-anchoring audit checkpoints, counted anonymous
denials, single-use TOTP codes.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    with op.batch_alter_table("audit_head") as batch:
        batch.add_column(
            sa.Column("checkpoint_seq", sa.BigInteger, nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("checkpoint_at", sa.String(40)))
    # The newest checkpoint made before this revision is the one the next one follows; with
    # checkpoint_at left empty the next entry is signed at once.
    op.execute(
        "UPDATE audit_head SET checkpoint_seq = "
        "COALESCE((SELECT MAX(seq) FROM audit_checkpoints), 0)"
    )
    with op.batch_alter_table("audit_checkpoints") as batch:
        batch.add_column(sa.Column("prev_seq", sa.BigInteger))
        batch.add_column(sa.Column("every_entries", sa.Integer))
        batch.add_column(sa.Column("every_minutes", sa.Float))
    op.create_table(
        "audit_denial_counts",
        sa.Column("hour", sa.String(13), primary_key=True),
        sa.Column("action", sa.String(64), primary_key=True),
        sa.Column("target", sa.String(400), primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
    )
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("totp_last_step")
    op.drop_table("audit_denial_counts")
    with op.batch_alter_table("audit_checkpoints") as batch:
        batch.drop_column("every_minutes")
        batch.drop_column("every_entries")
        batch.drop_column("prev_seq")
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_column("checkpoint_at")
        batch.drop_column("checkpoint_seq")
