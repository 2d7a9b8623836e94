"""The feedback store: users, digital twins, conversations, ratings and the training sets made
from them, on SQLite (a file path, WAL mode) or PostgreSQL (a ``postgresql+psycopg://`` URL).

API (every method that touches a person's data takes ``by=`` the acting `User`, or its id; ``None``
means the operator at the console, who may do everything)::

    from liquidcare.feedback import open_store
    store = open_store("care.db")              # or "postgresql+psycopg://u:p@127.0.0.1:5432/care"
    store.schema_version()                     # the Alembic revision; open_store migrates to head
    store.ping() -> bool                       # the database answers (health checks)
    user, api_key = store.add_user("Ana", role="carer")  # person|carer|clinician|admin; key once
    store.authenticate(api_key) -> User | None           # salted PBKDF2 hash, never the key
    store.new_api_key(user_id) / store.revoke_keys(user_id) / store.list_users() / get_user(id)

    twin = store.create_twin({"name": "Carmen", "language": "es", ...}, by=user)  # unknown keys
    store.get_twin(twin_id, by=user)            # -> Twin; 403 unless linked (or admin); audited
    store.list_twins(by=user)
    store.update_twin(twin_id, changes, expected_version=twin.version, by=user)  # 409 if stale
    store.link(twin_id, user_id, by=user) / store.unlink(...) / store.linked_users(twin_id, by=)
    twin.system_prompt()                        # in the twin's language (en/es)
    store.timeline(twin_id, by=user) -> list[Event]   # the twin's carers, clinicians, admins
    store.add_event(twin_id, kind, evidence, by=user) # a carer's own observation

    conv = store.start_conversation(by=user, twin_id=None, title="")
    store.get_conversation(conv_id, by=user)    # own conversations (admins read any, audited)
    store.list_conversations(by=user)
    msg = store.add_message(conv_id, "user"|"assistant"|"system", content, by=user,
                            model_version=None, origin=None,  # client|model|guard
                            prompt=None, original_content=None)
                            # user messages in a twin's chat feed its timeline
    store.rate(message_id, +1|-1, by=user, comment=None) -> Rating    # re-rating replaces;
                                                # a client-written message is not ratable (422)
    store.record_verdict(conversation_id, "input"|"output", verdict_dict, message_id=None)

    store.grant_consent(scope, by=user, twin_id=None, user_id=None, note="") -> Consent
    store.withdraw_consent(scope, by=user, twin_id=.../user_id=...) -> int
    store.consents(by=user, twin_id=.../user_id=...)  # scope: service|research_retraining|federated
    store.consent_overview(by=user)  # own + visible twins': ConsentSubject(kind, id, may_record)

    store.training_rows(scope="research_retraining") / store.export_training_set(path, scope=...)
        # only model replies, with the prompt the model saw, with consent, personal data masked:
        # {"prompt": [...], "completion": [{"role": "assistant", ...}], "label": bool,
        #  "message_id", "conversation_id", "twin_id", "model_version", "dropped_client_turns"}
    store.record_training(adapter_version, message_ids) / store.trained_on(adapter_version)
    store.models_carrying_erased_data() -> list[CarriedErasure]

    store.export_person(person_id, out_dir, by=None)  # person_id is the twin id: JSON + Markdown
    store.forget_person(person_id, by=None) -> Erasure  # one transaction, erasure record kept
    store.audit(person_id, by=None) -> list[AuditEntry] ; store.erasures()
    store.backup(path) ; store.restore(path) -> RestoreReport  # SQLite (checked whole, the live
        # store kept, erasures re-applied); PostgreSQL: pg_dump / pg_restore

Errors (all `liquidcare.errors.UserError`, each with an HTTP ``status``): `StoreError` (400),
`NotFoundError` (404), `PermissionDeniedError` (403), `StaleWriteError` (409),
`ValidationError` (422). See docs/store.md for the schema and who sees what.
"""

from .errors import (
    NotFoundError,
    PermissionDeniedError,
    StaleWriteError,
    StoreError,
    ValidationError,
)
from .events import KINDS as EVENT_KINDS
from .events import extract_events
from .records import (
    AuditEntry,
    CarriedErasure,
    Consent,
    Conversation,
    Erasure,
    Event,
    Message,
    Rating,
    User,
)
from .store import Store, open_store
from .twin import Twin

__all__ = [
    "EVENT_KINDS",
    "AuditEntry",
    "CarriedErasure",
    "Consent",
    "Conversation",
    "Erasure",
    "Event",
    "Message",
    "NotFoundError",
    "PermissionDeniedError",
    "Rating",
    "StaleWriteError",
    "Store",
    "StoreError",
    "Twin",
    "User",
    "ValidationError",
    "extract_events",
    "open_store",
]
