"""The person's rights under the GDPR: see everything held (Art. 15), take it along (Art. 20),
have it erased (Art. 17).

"The person" is a twin: `person_id` is the twin's id. Their data is the twin, its links and
timeline, every conversation about them (whoever held it) or held by their own account, the
messages, ratings and guardrail verdicts of those conversations, the training records that say
which adapter learnt from those messages, and their own user account and keys.

The audit log and the erasure records stay: they hold ids, kinds and times, never names or text,
and they are how the provider shows who read the record and that it was erased.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session

from liquidcare import atomic

from .base import (
    Actor,
    StoreBase,
    conversation_snapshot,
    event_snapshot,
    twin_snapshot,
    user_snapshot,
)
from .errors import NotFoundError, PermissionDeniedError, StoreError
from .models import (
    AdapterErasureRow,
    ApiKeyRow,
    AuditRow,
    ConsentRow,
    ConversationRow,
    ErasureRow,
    EventRow,
    MessageRow,
    RatingRow,
    TrainingExampleRow,
    TwinLinkRow,
    TwinRow,
    UserRow,
    VerdictRow,
    utcnow,
)
from .records import AuditEntry, Erasure


def _conversation_ids(s: Session, twin: TwinRow, actor: UserRow | None = None) -> list[int]:
    """The conversations about the person: about their twin (whoever held them) or held by
    their own account. A carer or clinician gets only those about twins they are linked to: the
    person's chats about someone else, or with no twin, are not theirs to read."""
    cond = ConversationRow.twin_id == twin.id
    if twin.person_user_id is not None:
        cond = or_(cond, ConversationRow.user_id == twin.person_user_id)
    if actor is not None and actor.role != "admin" and actor.id != twin.person_user_id:
        visible = select(TwinLinkRow.twin_id).where(TwinLinkRow.user_id == actor.id)
        cond = and_(cond, ConversationRow.twin_id.in_(visible))
    return list(s.scalars(select(ConversationRow.id).where(cond).order_by(ConversationRow.id)))


def _erased_conversation_ids(s: Session, twin: TwinRow) -> list[int]:
    """What erasing the person removes: conversations about their twin, and their own chats
    with no twin. Their chats about another twin are that twin's record too, and stay."""
    cond = ConversationRow.twin_id == twin.id
    if twin.person_user_id is not None:
        cond = or_(cond, and_(ConversationRow.user_id == twin.person_user_id,
                              ConversationRow.twin_id.is_(None)))
    return list(s.scalars(select(ConversationRow.id).where(cond).order_by(ConversationRow.id)))


def _may_act_for(store: StoreBase, s: Session, twin: TwinRow, by: Actor, carers_too: bool) -> Any:
    actor = store._actor(s, by)
    if actor is None or actor.role == "admin" or actor.id == twin.person_user_id:
        return actor
    if carers_too and actor.role in ("carer", "clinician") and store._is_linked(
        s, twin.id, actor.id
    ):
        return actor
    raise PermissionDeniedError(
        f"user {actor.id} may not act on person {twin.id}'s rights (admin or the person only)"
    )


def collect_person(
    store: StoreBase, s: Session, twin: TwinRow, actor: UserRow | None = None
) -> dict[str, Any]:
    """Everything held about one person that `actor` may see, as JSON-ready data."""
    conv_ids = _conversation_ids(s, twin, actor)
    conversations = []
    for conv_id in conv_ids:
        conv = s.get(ConversationRow, conv_id)
        assert conv is not None
        data = conversation_snapshot(conv, True).to_dict()
        msg_ids = [m.id for m in conv.messages]
        data["ratings"] = [
            {"message_id": r.message_id, "user_id": r.user_id, "value": r.value,
             "comment": r.comment, "at": r.created_at.isoformat() + "Z"}
            for r in s.scalars(select(RatingRow).where(RatingRow.message_id.in_(msg_ids)))
        ]
        data["guard_verdicts"] = [
            {"stage": v.stage, "message_id": v.message_id, "verdict": v.verdict}
            for v in s.scalars(select(VerdictRow).where(VerdictRow.conversation_id == conv_id))
        ]
        data["trained_into"] = sorted({
            t.adapter_version for t in s.scalars(
                select(TrainingExampleRow).where(TrainingExampleRow.message_id.in_(msg_ids)))
        })
        conversations.append(data)
    events = s.scalars(select(EventRow).where(EventRow.twin_id == twin.id).order_by(EventRow.id))
    links = s.scalars(
        select(UserRow).join(TwinLinkRow, TwinLinkRow.user_id == UserRow.id)
        .where(TwinLinkRow.twin_id == twin.id).order_by(UserRow.id)
    )
    account = s.get(UserRow, twin.person_user_id) if twin.person_user_id else None
    audit = [
        AuditEntry(id=r.id, at=r.at, actor_id=r.actor_id, actor_role=r.actor_role,
                   action=r.action, kind=r.kind, twin_id=r.twin_id,
                   object_id=r.object_id).to_dict()
        for r in s.scalars(select(AuditRow).where(AuditRow.twin_id == twin.id)
                           .order_by(AuditRow.id))
    ]
    return {
        "person_id": twin.id,
        "account": user_snapshot(account).to_dict() if account else None,
        "twin": twin_snapshot(twin).to_dict(),
        "who_can_see_it": [user_snapshot(u).to_dict() for u in links],
        "timeline": [event_snapshot(e).to_dict() for e in events],
        "conversations": conversations,
        "audit": audit,
    }


_SUMMARY = {
    "en": {
        "title": "Everything we hold about {name}",
        "intro": "Exported on {when}. The file {json} holds the same data in full.",
        "twin": "Profile", "age": "Age", "language": "Language", "conditions": "Conditions",
        "medications": "Medications", "routines": "Routines", "preferences": "Preferences",
        "carers": "Carers", "emergency": "Emergency contact", "access": "Who can see it",
        "timeline": "Timeline", "conversations": "Conversations", "messages": "messages",
        "ratings": "ratings", "audit": "Who read the record", "none": "none",
        "trained": "used to train model versions",
    },
    "es": {
        "title": "Todo lo que guardamos sobre {name}",
        "intro": "Exportado el {when}. El archivo {json} contiene los mismos datos completos.",
        "twin": "Perfil", "age": "Edad", "language": "Idioma", "conditions": "Problemas de salud",
        "medications": "Medicación", "routines": "Rutinas", "preferences": "Preferencias",
        "carers": "Cuidadores", "emergency": "Contacto de emergencia",
        "access": "Quién puede verlo", "timeline": "Historial", "conversations": "Conversaciones",
        "messages": "mensajes", "ratings": "valoraciones",
        "audit": "Quién ha consultado el registro",
        "none": "ninguno", "trained": "usadas para entrenar las versiones del modelo",
    },
}


def summary_markdown(data: dict[str, Any], json_name: str, when: str) -> str:
    twin = data["twin"]
    t = _SUMMARY.get(twin["language"], _SUMMARY["en"])
    out = [f"# {t['title'].format(name=twin['name'])}", "",
           t["intro"].format(when=when, json=json_name), "", f"## {t['twin']}", ""]

    def items(label: str, values: list[str]) -> None:
        out.append(f"- **{label}:** {'; '.join(values) if values else t['none']}")

    out.append(f"- **{t['age']}:** {twin['age'] if twin['age'] is not None else '-'}")
    out.append(f"- **{t['language']}:** {twin['language']}")
    items(t["conditions"], twin["conditions"])
    items(t["medications"], [
        f"{m['name']} {m.get('dose', '')} {', '.join(m.get('schedule', []))}".strip()
        for m in twin["medications"]
    ])
    items(t["routines"], twin["routines"])
    items(t["preferences"], twin["preferences"])
    items(t["carers"], [c["name"] for c in twin["carers"]])
    contact = twin["emergency_contact"]
    items(t["emergency"], [f"{contact['name']} {contact.get('phone', '')}".strip()]
          if contact else [])
    items(t["access"], [f"{u['name']} ({u['role']})" for u in data["who_can_see_it"]])
    out += ["", f"## {t['timeline']}", ""]
    out += [f"- {e['at']}: {e['kind']} — \"{e['evidence']}\"" for e in data["timeline"]] or [
        f"- {t['none']}"]
    out += ["", f"## {t['conversations']}", ""]
    for c in data["conversations"]:
        line = (f"- #{c['id']} ({c['created_at']}): {len(c['messages'])} {t['messages']}, "
                f"{len(c['ratings'])} {t['ratings']}")
        if c["trained_into"]:
            line += f"; {t['trained']} {', '.join(c['trained_into'])}"
        out.append(line)
    if not data["conversations"]:
        out.append(f"- {t['none']}")
    out += ["", f"## {t['audit']}", ""]
    out += [f"- {a['at']}: {a['actor_role']} #{a['actor_id']} {a['action']} {a['kind']}"
            for a in data["audit"]] or [f"- {t['none']}"]
    return "\n".join(out) + "\n"


def export_person(store: StoreBase, person_id: int, out_dir: Path, by: Actor) -> list[Path]:
    out_dir = out_dir.expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise StoreError(f"{out_dir} exists and is not a folder")
    with store._tx(write=True) as s:
        twin = s.get(TwinRow, person_id)
        if twin is None:
            raise NotFoundError(f"no person {person_id} (a person is a twin id)")
        actor = _may_act_for(store, s, twin, by, carers_too=True)
        if actor is None or actor.id != twin.person_user_id:
            store._audit(s, actor, "export", "person", twin.id)
        # A conversation about another twin is that twin's record too: its log says who read it.
        for conv in s.scalars(select(ConversationRow).where(
                ConversationRow.id.in_(_conversation_ids(s, twin, actor)),
                ConversationRow.twin_id.is_not(None), ConversationRow.twin_id != twin.id)):
            other = s.get(TwinRow, conv.twin_id)
            if other is not None and (actor is None or actor.id != other.person_user_id):
                store._audit(s, actor, "read", "conversation", other.id, conv.id)
        s.flush()
        data = collect_person(store, s, twin, actor)
    out_dir.mkdir(parents=True, exist_ok=True)
    when = utcnow().isoformat(timespec="seconds") + "Z"
    data["exported_at"] = when
    json_path = out_dir / f"person-{person_id}.json"
    md_path = out_dir / f"person-{person_id}.md"
    # Only the owner may read an export: it is everything held about a person's health.
    atomic.write_json(json_path, data, mode=0o600)
    atomic.write_text(md_path, summary_markdown(data, json_path.name, when), mode=0o600)
    return [json_path, md_path]


def erase_rows(s: Session, twin: TwinRow) -> tuple[dict[str, int], list[tuple[str, int]]]:
    """Deletes the person's data (see `_erased_conversation_ids` for which conversations) and
    returns (rows erased per kind, [(adapter version, examples it learnt from them)]). Used by
    `forget_person` and again by a restore that brings an erased person back."""
    conv_ids = _erased_conversation_ids(s, twin)
    msg_ids = list(s.scalars(
        select(MessageRow.id).where(MessageRow.conversation_id.in_(conv_ids))))

    def count(model: Any, *where: Any) -> int:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    trained = s.execute(
        select(TrainingExampleRow.adapter_version, func.count())
        .where(TrainingExampleRow.message_id.in_(msg_ids))
        .group_by(TrainingExampleRow.adapter_version)
    ).all()
    kinds = {
        "twin": 1,
        "twin_links": count(TwinLinkRow, TwinLinkRow.twin_id == twin.id),
        "timeline_events": count(EventRow, EventRow.twin_id == twin.id),
        "conversations": len(conv_ids),
        "messages": len(msg_ids),
        "ratings": count(RatingRow, RatingRow.message_id.in_(msg_ids)),
        "guard_verdicts": count(VerdictRow, VerdictRow.conversation_id.in_(conv_ids)),
        "training_examples": sum(n for _, n in trained),
        "consents": count(ConsentRow, ConsentRow.twin_id == twin.id),
    }
    account = twin.person_user_id
    # The person's own chats about another twin stay (they are that twin's record too), and
    # with them the account that holds them: erasing one twin never deletes another's data.
    keeps_other = account is not None and s.scalar(
        select(func.count()).select_from(ConversationRow).where(
            ConversationRow.user_id == account, ConversationRow.id.not_in(conv_ids))) > 0
    if keeps_other:
        account = None
        kinds["user_accounts_kept"] = 1
    kinds["user_accounts"] = 1 if account is not None else 0
    # Children first, so the deletes work whether or not the engine cascades.
    s.execute(delete(TrainingExampleRow).where(TrainingExampleRow.message_id.in_(msg_ids)))
    s.execute(delete(RatingRow).where(RatingRow.message_id.in_(msg_ids)))
    s.execute(delete(VerdictRow).where(VerdictRow.conversation_id.in_(conv_ids)))
    s.execute(delete(EventRow).where(or_(
        EventRow.twin_id == twin.id, EventRow.message_id.in_(msg_ids))))
    s.execute(delete(MessageRow).where(MessageRow.id.in_(msg_ids)))
    s.execute(delete(ConversationRow).where(ConversationRow.id.in_(conv_ids)))
    s.execute(delete(TwinLinkRow).where(TwinLinkRow.twin_id == twin.id))
    s.execute(delete(ConsentRow).where(ConsentRow.twin_id == twin.id))
    s.execute(delete(TwinRow).where(TwinRow.id == twin.id))
    if account is not None:
        s.execute(delete(ConsentRow).where(ConsentRow.user_id == account))
        s.execute(delete(RatingRow).where(RatingRow.user_id == account))
        s.execute(delete(ApiKeyRow).where(ApiKeyRow.user_id == account))
        s.execute(delete(TwinLinkRow).where(TwinLinkRow.user_id == account))
        s.execute(delete(UserRow).where(UserRow.id == account))
    return kinds, [(str(v), int(n)) for v, n in trained]


def forget_person(store: StoreBase, person_id: int, by: Actor) -> Erasure:
    """Erases the person's data in one transaction and returns the erasure record.

    Adapter versions that learnt from any erased reply are marked (`adapter_erasures`): they
    still carry the data in their weights until retrained, and the admin can list them with
    `Store.models_carrying_erased_data()`.
    """
    with store._tx(write=True) as s:
        twin = s.get(TwinRow, person_id)
        if twin is None:
            raise NotFoundError(f"no person {person_id} (a person is a twin id)")
        actor = _may_act_for(store, s, twin, by, carers_too=False)
        kinds, trained = erase_rows(s, twin)
        erasure = ErasureRow(
            by_user_id=actor.id if actor else None, by_role=actor.role if actor else "operator",
            person_id=person_id, kinds=kinds,
        )
        s.add(erasure)
        s.flush()
        for version, n in trained:
            s.add(AdapterErasureRow(adapter_version=version, erasure_id=erasure.id, examples=n))
        store._audit(s, actor, "forget", "person", person_id, erasure.id)
        s.flush()
        return Erasure(
            id=erasure.id, at=erasure.at, by_user_id=erasure.by_user_id,
            by_role=erasure.by_role, person_id=erasure.person_id, kinds=dict(kinds),
            models=dict(trained),
        )


class RightsPart(StoreBase):
    """The person's rights as methods of the store."""

    def export_person(
        self, person_id: int, out_dir: str | os.PathLike[str], by: Actor = None
    ) -> list[Path]:
        """Everything held about a person (Art. 15/20 GDPR) as JSON plus a readable summary."""
        return export_person(self, person_id, Path(out_dir), by)

    def forget_person(self, person_id: int, by: Actor = None) -> Erasure:
        """Erases a person's data in one transaction (Art. 17 GDPR); see `forget_person`."""
        return forget_person(self, person_id, by)
