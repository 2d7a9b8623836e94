"""One chat turn, from a request to a stored reply: shared by the HTTP server and the terminal chat.

The rule that ties a request to the store (docs/serve.md says the same):

* `user` is a twin id. With it, the twin's system prompt comes first and replaces any system
  message the client sent (a client cannot rewrite the care instructions); the caller must be
  allowed to read that twin. Without it the chat has no twin and uses the client's system
  message, or the project's care system prompt.
* Without a `conversation_id`, a new conversation starts and every user/assistant message of the
  request is stored in order, so the stored conversation is exactly what the model saw.
* With a `conversation_id` (the field, or the `X-Conversation-Id` header), the stored conversation
  is the history: the model sees it plus the request's trailing user message(s), which are then
  stored; the client's own copy of earlier turns is not used. The caller must own it.

A turn is planned first (`plan`: reads and the input guard, no writes), then, once the model has
taken the job (`start`; a full queue refuses it with nothing written), committed (`commit`: the
conversation, the user's messages, the verdict). So a refused request leaves no trace in the
store. The reply is stored by the engine's worker (`on_complete`) after the commit, with the
version of the weights that wrote it, so a client that goes away mid-stream loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from liquidcare.errors import UserError
from liquidcare.feedback.training import EXTRACTIVE_SUFFIX

from .engine import Engine, Event, GenerationParams, Job
from .guard import FALLBACK_REPLY, GuardLike, verdict_dict
from .streaming import SentenceGate

log = logging.getLogger(__name__)

GUARD_VERSION = "guard"  # model_version of a reply the guard wrote instead of the model
COMMIT_WAIT_S = 120.0  # how long the worker waits for a request to commit before dropping it


class ConversationMismatchError(UserError):
    """`user` names another twin than the conversation's (a 409: the client mixed two chats)."""

    status = 409


@dataclass
class Turn:
    """One chat turn: what the model will read and where the reply goes."""

    conversation_id: Any
    twin_id: Any
    prompt: list[dict[str, str]]  # system prompt first
    lang: str = "en"
    blocked_reply: str | None = None  # set when the input guard blocked: no model call
    reply_id: Any = None  # the stored reply's message id (known at commit when blocked)
    version: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # planned, not yet stored
    user: Any = None
    new_messages: list[dict[str, str]] = field(default_factory=list)
    input_verdict: Any = None
    last_message_id: Any = None  # the last stored message before the reply (set by commit)
    committed: threading.Event = field(default_factory=threading.Event, repr=False)
    cancelled: bool = False  # the request failed before it committed: store no reply
    # who wrote each prompt message: "server" (system prompt), "client", "model", "guard"; stored
    # with the reply so training can tell the server's words from a client's forged turns
    origins: list[str] = field(default_factory=list)

    def seen_prompt(self) -> list[dict[str, str]]:
        """The prompt as stored with the reply: each message with its origin."""
        return [{**m, "origin": o} for m, o in zip(self.prompt, self.origins, strict=True)]

    def cancel(self) -> None:
        """Nothing of this turn will be stored (the worker's reply included)."""
        if not self.committed.is_set():
            self.cancelled = True
            self.committed.set()


def _vetted(turn: Turn) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The vetted sentences a turn's grounded reply may quote, and the twin's facts it may show
    (`Guard.check_output`'s `vetted` and `shown`; none when the turn is not grounded)."""
    grounding = turn.extra.get("grounding")
    if grounding is None:
        return (), ()
    return grounding.vetted, tuple(grounding.facts)


def _attr(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


class ChatService:
    def __init__(self, engine: Engine, store: Any, guard: GuardLike | None = None,
                 default_max_tokens: int = 256, journal: Any = None,
                 grounder: Any = None) -> None:
        self.engine, self.store, self.guard = engine, store, guard
        self.default_max_tokens = default_max_tokens
        self.journal = journal  # PartialJournal: streamed text as it is sent, for crashes
        self.grounder = grounder  # liquidcare.serve.grounding.Grounder: the knowledge base

    # -- before the model --------------------------------------------------------------------
    def plan(self, user: Any, messages: list[dict[str, str]], twin_id: Any = None,
             conversation_id: Any = None) -> Turn:
        """Resolve twin and conversation and run the input guard; writes nothing."""
        store = self.store
        twin = None
        if conversation_id is not None:
            conv = store.get_conversation(conversation_id, by=user)  # own conversations only
            conv_twin = _attr(conv, "twin_id")
            if twin_id is not None and conv_twin is not None and str(conv_twin) != str(twin_id):
                raise ConversationMismatchError(
                    f"conversation {conversation_id} is about twin {conv_twin}, not {twin_id}"
                )
            twin_id = conv_twin if twin_id is None else twin_id
            if twin_id is not None:
                twin = store.get_twin(twin_id, by=user)
            stored = list(_attr(conv, "messages", []))
            history = [{"role": _attr(m, "role"), "content": _attr(m, "content")} for m in stored]
            history_origins = [str(_attr(m, "origin", "client") or "client") for m in stored]
            new = _trailing_user(messages)
            conv_id = _attr(conv, "id")
        else:
            if twin_id is not None:
                twin = store.get_twin(twin_id, by=user)
            history, history_origins, conv_id = [], [], None
            new = [m for m in messages if m["role"] in ("user", "assistant")]
        system, lang, system_origin = self._system_prompt(twin, messages)
        turn = Turn(conv_id, _attr(twin, "id"),
                    [{"role": "system", "content": system}, *history, *new], lang=lang,
                    user=user, new_messages=new,
                    origins=[system_origin, *history_origins, *(["client"] * len(new))])
        if self.guard is not None:
            # the guard sees what the model would see, system prompt included (it looks for
            # replies that leak it); an allowed verdict may still carry an emergency escalation,
            # which the output check adds to the reply
            verdict = self.guard.check_input(turn.prompt)
            turn.input_verdict = verdict
            if not verdict.allowed:
                turn.blocked_reply = verdict.safe_reply or FALLBACK_REPLY.get(
                    lang, FALLBACK_REPLY["en"])
                turn.version = GUARD_VERSION
        if self.grounder is not None and turn.blocked_reply is None:
            self._ground(user, turn, twin)
        return turn

    def commit(self, turn: Turn) -> None:
        """Store what `plan` prepared: the conversation, the user's messages, the input verdict
        (and, when the guard blocked, its reply). The worker stores the model's reply after."""
        store, user = self.store, turn.user
        try:
            if turn.conversation_id is None:
                conv = store.start_conversation(by=user, twin_id=turn.twin_id)
                turn.conversation_id = _attr(conv, "id")
            for m in turn.new_messages:
                # everything in the request is the client's, an "assistant" turn included:
                # stored as such, it can never be rated or trained on as the model's words
                msg = store.add_message(turn.conversation_id, role=m["role"],
                                        content=m["content"], by=user, origin="client")
                turn.last_message_id = _attr(msg, "id")
            if turn.input_verdict is not None:
                verdict = verdict_dict(turn.input_verdict)
                if turn.blocked_reply is not None:
                    msg = store.add_message(turn.conversation_id, role="assistant",
                                            content=turn.blocked_reply, by=user,
                                            model_version=GUARD_VERSION, origin="guard",
                                            prompt=turn.seen_prompt())
                    turn.reply_id = _attr(msg, "id")
                    store.record_verdict(turn.conversation_id, stage="input", verdict=verdict,
                                         message_id=turn.reply_id)
                else:
                    store.record_verdict(turn.conversation_id, stage="input", verdict=verdict)
            if self.journal is not None and turn.extra.get("journal"):
                # before `committed`: the worker, which drops the entry, waits for it
                turn.extra["journal_id"] = self.journal.begin(
                    turn.conversation_id, _attr(user, "id", user), turn.last_message_id,
                    turn.version)
        except BaseException:
            turn.cancel()
            raise
        turn.committed.set()

    def prepare(self, user: Any, messages: list[dict[str, str]], twin_id: Any = None,
                conversation_id: Any = None) -> Turn:
        """`plan` and `commit` at once (the terminal chat, which has no queue to be refused by)."""
        turn = self.plan(user, messages, twin_id, conversation_id)
        self.commit(turn)
        return turn

    def _ground(self, user: Any, turn: Turn, twin: Any) -> None:
        """Passages and twin facts for this turn (serve/grounding.py). The guard keeps seeing
        the plain prompt: quoting a passage handed to the model is not leaking the system
        prompt."""
        events: list[Any] = []
        if twin is not None:
            try:
                events = list(self.store.timeline(_attr(twin, "id"), by=user))
            except UserError:
                events = []  # a person may not read their own timeline; the twin still counts
        grounding = self.grounder.ground(turn.prompt, twin, events)
        turn.lang = grounding.lang
        turn.extra["grounding"] = grounding

    def _emergency(self, lang: str) -> dict[str, str] | None:
        """The emergency numbers of the language's locale from the safety policy in use (the
        grounder's copy, else the guard's); None leaves the twin's own defaults."""
        if self.grounder is not None:
            return self.grounder.numbers(lang)
        policy = getattr(self.guard, "policy", None)
        numbers = getattr(policy, "emergency", {}).get(lang) if policy is not None else None
        return dict(numbers) if numbers else None

    def _system_prompt(self, twin: Any, messages: list[dict[str, str]]
                       ) -> tuple[str, str, str]:
        """(system prompt, language, who wrote it: "server" or "client")."""
        if twin is not None:
            lang = str(_attr(twin, "language", "en") or "en")
            return twin.system_prompt(self._emergency(lang)), lang, "server"
        from liquidcare.safety.language import conversation_language

        # without a twin, the care prompt speaks the asker's language (an English prompt makes
        # a small model answer a Spanish question in English)
        lang = conversation_language(messages, default="en")
        given = [m["content"] for m in messages if m["role"] in ("system", "developer")]
        if given:
            return "\n\n".join(given), lang, "client"
        from liquidcare.data import CARE_SYSTEM_PROMPT

        return CARE_SYSTEM_PROMPT.get(lang, CARE_SYSTEM_PROMPT["en"]), lang, "server"

    # -- the model ---------------------------------------------------------------------------
    def gate(self, turn: Turn) -> SentenceGate | None:
        """The sentence-by-sentence output check of a streamed reply (None without a guard),
        told which knowledge-base sentences the reply may quote (`Grounding.vetted`)."""
        if self.guard is None:
            return None
        return SentenceGate(self.guard, turn.prompt,
                            FALLBACK_REPLY.get(turn.lang, FALLBACK_REPLY["en"]), *_vetted(turn))

    def start(self, user: Any, turn: Turn, params: GenerationParams,
              loop: asyncio.AbstractEventLoop | None = None, *, stream: bool = False,
              **overrides: Any) -> Job:
        """Queue the model call; the worker stores the (checked) reply once the turn is
        committed. `stream` with a guard: the reply is checked sentence by sentence (the
        request shows each sentence once checked; the worker stores the same result)."""
        guarded_stream = stream and self.guard is not None
        if self.guard is not None:
            # not streamed: the output check needs the whole reply before any is sent;
            # streamed: the request's SentenceGate holds back each sentence until it is checked
            params.buffered = not guarded_stream
        grounding = turn.extra.get("grounding")
        sources = list(grounding.sources) if grounding is not None else []
        vetted, shown = _vetted(turn)

        def on_complete(job: Job) -> None:
            if not turn.committed.wait(COMMIT_WAIT_S) or turn.cancelled:
                job.extra["stored"] = False  # the request failed before it stored anything
                return
            verdict, model_text = None, job.text
            if grounding is not None and grounding.prepared is None:
                job.text = self.grounder.finish(grounding, job.text)
            job.extra["sources"] = sources
            if guarded_stream:
                gate = self.gate(turn)
                job.text, verdict = gate.replay(job.text)  # what the request showed, checked
            elif self.guard is not None:
                verdict = self.guard.check_output(turn.prompt, job.text, vetted, shown)
                if not verdict.allowed:
                    job.text = verdict.safe_reply or FALLBACK_REPLY.get(turn.lang,
                                                                        FALLBACK_REPLY["en"])
                    job.extra["sources"] = []  # the refusal is not built on them
                elif verdict.safe_reply is not None:  # allowed, rewritten (an escalation)
                    job.text = verdict.safe_reply
            entry = turn.extra.get("journal_id") if self.journal is not None else None
            if entry is not None:
                self.journal.storing(entry)
            # a reply the guard replaced or rewrote is the guard's words: stored as "guard" with
            # the model's own text kept for audit, never rated or trained on as the model's
            origin = "model" if job.text == model_text else "guard"
            version = job.version if origin == "model" else GUARD_VERSION
            if origin == "model" and grounding is not None and grounding.prepared is not None:
                # an extractive reply is the knowledge base's vetted text, not the model's
                # words: ratable, never a training completion (see feedback/training.py)
                version = f"{job.version}{EXTRACTIVE_SUFFIX}"
            msg = self.store.add_message(
                turn.conversation_id, role="assistant", content=job.text, by=user,
                model_version=version, origin=origin,
                prompt=turn.seen_prompt(),
                original_content=model_text if origin == "guard" else None)
            job.extra["message_id"] = _attr(msg, "id")
            if entry is not None:
                self.journal.discard(entry)  # the whole reply is stored
            if verdict is not None:
                self.store.record_verdict(turn.conversation_id, stage="output",
                                          verdict=verdict_dict(verdict),
                                          message_id=_attr(msg, "id"))
            # tells a streaming request that what follows is the checked, stored reply
            job.emit(Event("checked", job.text))

        if grounding is not None:
            return self.engine.submit(grounding.messages or turn.prompt, params,
                                      on_complete=on_complete, loop=loop,
                                      prepared=grounding.prepared, **overrides)
        return self.engine.submit(turn.prompt, params, on_complete=on_complete, loop=loop,
                                  **overrides)


def _trailing_user(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """The user messages after the last assistant message: the new turn of a continued chat."""
    tail: list[dict[str, str]] = []
    for m in reversed(messages):
        if m["role"] != "user":
            break
        tail.append(m)
    return list(reversed(tail))
