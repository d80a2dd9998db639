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


# Plain ADD / DROP COLUMN throughout: a batch rebuild of `users` on SQLite would drop and
# recreate it, and with foreign keys on that cascades into memberships, sessions and tokens.


def upgrade() -> None:
    op.add_column(
        "audit_head",
        sa.Column("checkpoint_seq", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.add_column("audit_head", sa.Column("checkpoint_at", sa.String(40)))
    # The newest checkpoint made before this revision is the one the next one follows; with
    # checkpoint_at left empty the next entry is signed at once.
    op.execute(
        "UPDATE audit_head SET checkpoint_seq = "
        "COALESCE((SELECT MAX(seq) FROM audit_checkpoints), 0)"
    )
    op.add_column("audit_checkpoints", sa.Column("prev_seq", sa.BigInteger))
    op.add_column("audit_checkpoints", sa.Column("every_entries", sa.Integer))
    op.add_column("audit_checkpoints", sa.Column("every_minutes", sa.Float))
    op.create_table(
        "audit_denial_counts",
        sa.Column("hour", sa.String(13), primary_key=True),
        sa.Column("action", sa.String(64), primary_key=True),
        sa.Column("target", sa.String(400), primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
    )
    op.add_column("users", sa.Column("totp_last_step", sa.BigInteger))


def downgrade() -> None:
    op.drop_column("users", "totp_last_step")
    op.drop_table("audit_denial_counts")
    for column in ("every_minutes", "every_entries", "prev_seq"):
        op.drop_column("audit_checkpoints", column)
    for column in ("checkpoint_at", "checkpoint_seq"):
        op.drop_column("audit_head", column)
