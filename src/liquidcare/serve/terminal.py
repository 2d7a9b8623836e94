"""`liquidcare chat`: the chatbot in a terminal, replies streamed as they are written.

    /good [comment]   rate the last reply +1 (stored as feedback, like the web page's thumbs up)
    /bad [comment]    rate the last reply -1
    /twin [ID]        show the twin this chat is about, or switch to twin ID (a new conversation)
    /new              start a new conversation
    /quit             leave (so does Ctrl-D)

With a store the chat runs through the same `ChatService` as the HTTP server: the twin's system
prompt, every message stored with the model version, guard verdicts, ratings. Without a store it
keeps the conversation in memory and cannot rate. With a grounder (the knowledge base) each reply
is built on the passages that answer the question, and their sources are listed under it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.text import Text

from liquidcare.errors import UserError

from .engine import Engine, GenerationParams
from .guard import GuardLike
from .service import ChatService

HELP = "commands: /good [comment], /bad [comment], /twin [ID], /new, /quit"


class TerminalChat:
    def __init__(self, engine: Engine, store: Any = None, user: Any = None,
                 twin_id: Any = None, guard: GuardLike | None = None,
                 console: Console | None = None, max_tokens: int = 256,
                 grounder: Any = None) -> None:
        if store is not None and user is None:
            raise UserError("a chat with --store needs an API key (--key or LIQUIDCARE_API_KEY)")
        self.engine, self.store, self.user, self.guard = engine, store, user, guard
        self.grounder = grounder
        self.console = console or Console()
        self.max_tokens = max_tokens
        self.service = (ChatService(engine, store, guard, grounder=grounder)
                        if store is not None else None)
        self.twin_id = twin_id
        self.conversation_id: Any = None
        self.history: list[dict[str, str]] = []  # only without a store
        self.last_reply_id: Any = None
        if twin_id is not None and store is not None:
            store.get_twin(twin_id, by=user)  # fail now (403/404) rather than at the first turn

    # -- one line of input --------------------------------------------------------------------
    def handle(self, line: str) -> bool:
        """Act on one line; False when the chat should end."""
        line = line.strip()
        if not line:
            return True
        if line.startswith("/"):
            return self._command(line)
        try:
            self._turn(line)
        except UserError as err:
            self.console.print(f"[red]error:[/red] {err}", highlight=False)
        return True

    def _command(self, line: str) -> bool:
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        if name in ("/quit", "/exit"):
            return False
        if name in ("/good", "/bad"):
            self._rate(1 if name == "/good" else -1, arg or None)
        elif name == "/twin":
            self._twin(arg or None)
        elif name == "/new":
            self.conversation_id, self.history, self.last_reply_id = None, [], None
            self.console.print("[dim]new conversation[/dim]")
        else:
            self.console.print(f"unknown command {name}; {HELP}", highlight=False)
        return True

    def _rate(self, value: int, comment: str | None) -> None:
        if self.store is None:
            self.console.print("ratings are stored in a store: start the chat with --store")
            return
        if self.last_reply_id is None:
            self.console.print("there is no reply to rate yet")
            return
        self.store.rate(self.last_reply_id, value=value, by=self.user, comment=comment)
        self.console.print("[green]thank you: rating stored[/green]" if value > 0
                           else "[yellow]thank you: rating stored[/yellow]")

    def _twin(self, arg: str | None) -> None:
        if self.store is None:
            self.console.print("twins live in a store: start the chat with --store")
            return
        if arg is not None and not arg.isdigit():
            self.console.print(f"[red]error:[/red] a twin id is a number, not {arg!r}",
                               highlight=False)
            return
        twin_id = int(arg) if arg is not None else None
        try:
            if twin_id is not None:
                self.store.get_twin(twin_id, by=self.user)
                self.twin_id, self.conversation_id, self.last_reply_id = twin_id, None, None
            if self.twin_id is None:
                self.console.print("this chat is about no twin; /twin ID picks one")
                return
            twin = self.store.get_twin(self.twin_id, by=self.user)
        except UserError as err:
            self.console.print(f"[red]error:[/red] {err}", highlight=False)
            return
        name = getattr(twin, "name", self.twin_id)
        self.console.print(f"[bold]twin {self.twin_id}[/bold]: {name}", highlight=False)

    # -- a chat turn -------------------------------------------------------------------------
    def _turn(self, text: str) -> None:
        params = GenerationParams(max_tokens=self.max_tokens)
        self.console.print("[bold cyan]assistant>[/bold cyan] ", end="")
        if self.service is None:
            self.history.append({"role": "user", "content": text})
            job = self._submit_in_memory(params)
        else:
            turn = self.service.prepare(self.user, [{"role": "user", "content": text}],
                                        twin_id=self.twin_id,
                                        conversation_id=self.conversation_id)
            self.conversation_id = turn.conversation_id
            if turn.blocked_reply is not None:
                self.console.print(turn.blocked_reply, markup=False, highlight=False)
                self.last_reply_id = turn.reply_id
                return
            job = self.service.start(self.user, turn, params)
        for event in job.events():
            if event.kind == "delta":
                self.console.print(event.text, end="", markup=False, highlight=False)
            elif event.kind == "replace":
                self.console.print(f"\n[yellow](replaced)[/yellow] {event.text}", end="",
                                   highlight=False)
            elif event.kind == "error":
                self.console.print()
                raise event.error  # type: ignore[misc]
        self.console.print()
        self.show_sources(job.extra.get("sources") or [])
        if self.service is None:
            self.history.append({"role": "assistant", "content": job.text})
        else:
            self.last_reply_id = job.extra.get("message_id")

    def _submit_in_memory(self, params: GenerationParams) -> Any:
        """A turn without a store: grounded like the server's, kept in `history`."""
        if self.grounder is None:
            return self.engine.submit(self.history, params)
        grounding = self.grounder.ground(self.history)
        sources = grounding.sources

        def on_complete(job: Any) -> None:
            if grounding.prepared is None:
                job.text = self.grounder.finish(grounding, job.text)
            job.extra["sources"] = sources

        return self.engine.submit(grounding.messages or self.history, params,
                                  on_complete=on_complete, prepared=grounding.prepared)

    def show_sources(self, sources: list[dict[str, Any]]) -> None:
        """The passages a reply was built on, under it: title, publisher, review date, link."""
        for n, src in enumerate(sources, 1):
            line = (f"  [{n}] {src.get('title')} — {src.get('publisher')} "
                    f"(reviewed {src.get('reviewed')}) {src.get('url')}")
            self.console.print(Text(line, style="dim"), highlight=False)

    def run(self, read: Callable[[], str] | None = None) -> int:
        """Read lines until /quit or end of input."""
        read = read or (lambda: self.console.input("[bold green]you>[/bold green] "))
        self.console.print(f"[dim]model {self.engine.version}; {HELP}[/dim]", highlight=False)
        while True:
            try:
                line = read()
            except (EOFError, KeyboardInterrupt):
                self.console.print()
                return 0
            if not self.handle(line):
                return 0
