"""Training data you can trust (issue 18): where each message came from (`origin`: client, model
or guard), the exact prompt the model saw with each reply, the model's own words when the guard
replaced them, and consent records per person (twin) and per user, with scope and time."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("origin", sa.String(20), nullable=False,
                                   server_default="client"))
        batch.add_column(sa.Column("prompt", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("original_content", sa.Text(), nullable=True))
    # Rows written before this revision: an assistant message with a model version was the
    # server's (the API never let a client set one); "guard" is the guard's; the rest (user and
    # system messages, client-sent history) is what the client wrote.
    op.execute("UPDATE messages SET origin = 'guard' WHERE role = 'assistant' "
               "AND model_version = 'guard'")
    op.execute("UPDATE messages SET origin = 'model' WHERE role = 'assistant' "
               "AND model_version IS NOT NULL AND model_version <> 'guard'")
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("twin_id", sa.Integer(), sa.ForeignKey("twins.id", ondelete="CASCADE"),
                  nullable=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=True),
        sa.Column("scope", sa.String(40), nullable=False),
        sa.Column("granted_at", sa.DateTime(), nullable=False),
        sa.Column("granted_by", sa.Integer(), nullable=True),
        sa.Column("granted_by_role", sa.String(20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=True),
        sa.Column("withdrawn_by", sa.Integer(), nullable=True),
    )
    op.create_index("ix_consents_twin_id", "consents", ["twin_id"])
    op.create_index("ix_consents_user_id", "consents", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_consents_user_id", "consents")
    op.drop_index("ix_consents_twin_id", "consents")
    op.drop_table("consents")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("original_content")
        batch.drop_column("prompt")
        batch.drop_column("origin")
