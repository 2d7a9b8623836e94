"""The first schema: users, keys, twins, timeline, conversations, ratings, verdicts, training
records, audit log and erasure records."""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _created() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        _created(),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("salt", sa.String(64), nullable=False),
        sa.Column("digest", sa.String(128), nullable=False),
        _created(),
        sa.Column("revoked", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_api_keys_key_id", "api_keys", ["key_id"], unique=True)
    op.create_index("ix_api_keys_user_id", "api_keys", ["user_id"])
    op.create_table(
        "twins",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("age", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("medications", sa.JSON(), nullable=False),
        sa.Column("routines", sa.JSON(), nullable=False),
        sa.Column("preferences", sa.JSON(), nullable=False),
        sa.Column("carers", sa.JSON(), nullable=False),
        sa.Column("emergency_contact", sa.JSON(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column(
            "person_user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        _created(),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "twin_links",
        sa.Column(
            "twin_id", sa.Integer(), sa.ForeignKey("twins.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        _created(),
    )
    op.create_index("ix_twin_links_user_id", "twin_links", ["user_id"])
    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "twin_id", sa.Integer(), sa.ForeignKey("twins.id", ondelete="CASCADE"), nullable=True
        ),
        sa.Column("title", sa.String(200), nullable=False),
        _created(),
    )
    op.create_index("ix_conversations_user_id", "conversations", ["user_id"])
    op.create_index("ix_conversations_twin_id", "conversations", ["twin_id"])
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "conversation_id",
            sa.Integer(),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("model_version", sa.String(200), nullable=True),
        _created(),
    )
    op.create_index("ix_messages_conversation_id", "messages", ["conversation_id"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "twin_id", sa.Integer(), sa.ForeignKey("twins.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column(
            "message_id",
            sa.Integer(),
            sa.ForeignKey("messages.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_events_twin_id", "events", ["twin_id"])
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "message_id",
            sa.Integer(),
            sa.ForeignKey("messages.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        _created(),
        sa.UniqueConstraint("message_id", "user_id"),
    )
    op.create_index("ix_ratings_message_id", "ratings", ["message_id"])
    op.create_table(
        "guard_verdicts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "conversation_id",
            sa.Integer(),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "message_id",
            sa.Integer(),
            sa.ForeignKey("messages.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("verdict", sa.JSON(), nullable=False),
        _created(),
    )
    op.create_index("ix_guard_verdicts_conversation_id", "guard_verdicts", ["conversation_id"])
    op.create_table(
        "adapters",
        sa.Column("version", sa.String(200), primary_key=True),
        _created(),
    )
    op.create_table(
        "training_examples",
        sa.Column(
            "adapter_version",
            sa.String(200),
            sa.ForeignKey("adapters.version", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "message_id",
            sa.Integer(),
            sa.ForeignKey("messages.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_index("ix_training_examples_message_id", "training_examples", ["message_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_role", sa.String(20), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("twin_id", sa.Integer(), nullable=True),
        sa.Column("object_id", sa.Integer(), nullable=True),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_twin_id", "audit_log", ["twin_id"])
    op.create_table(
        "erasures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        sa.Column("by_role", sa.String(20), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
    )
    op.create_table(
        "adapter_erasures",
        sa.Column(
            "adapter_version",
            sa.String(200),
            sa.ForeignKey("adapters.version", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "erasure_id", sa.Integer(), sa.ForeignKey("erasures.id"), primary_key=True
        ),
        sa.Column("examples", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "adapter_erasures", "erasures", "audit_log", "training_examples", "adapters",
        "guard_verdicts", "ratings", "events", "messages", "conversations", "twin_links", "twins",
        "api_keys", "users",
    ):
        op.drop_table(table)
