"""`liquidcare serve` (the HTTP API and web chat) and `liquidcare chat` (the terminal chat)."""

from __future__ import annotations

import argparse
import os


def cmd_serve(args: argparse.Namespace) -> int:
    from liquidcare.serve.server import ServeConfig, serve

    if args.workers < 1:
        raise SystemExit("liquidcare serve: error: --workers must be at least 1")
    serve(ServeConfig(model=args.model, store=args.store, host=args.host, port=args.port,
                      workers=args.workers, guard=args.guard, guard_policy=args.guard_policy,
                      max_queue=args.max_queue, max_tokens=args.max_tokens, device=args.device,
                      rate_limit=args.rate_limit, journal=args.journal))
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from liquidcare.errors import UserError
    from liquidcare.serve.engine import Engine
    from liquidcare.serve.guard import load_guard
    from liquidcare.serve.terminal import TerminalChat

    store = user = None
    if args.store:
        from liquidcare.feedback import open_store

        key = args.key or os.environ.get("LIQUIDCARE_API_KEY")
        if not key:
            raise UserError("--store needs an API key: pass --key or set LIQUIDCARE_API_KEY "
                            "(liquidcare users add NAME prints one)")
        store = open_store(args.store)
        user = store.authenticate(key)
        if user is None:
            raise UserError("that API key is not valid for this store")
    elif args.twin is not None:
        raise UserError("--twin needs --store (twins live in the store)")
    guard = load_guard() if args.guard == "on" else None
    engine = Engine.from_pretrained(args.model, device=args.device)
    try:
        return TerminalChat(engine, store, user, twin_id=args.twin, guard=guard,
                            max_tokens=args.max_tokens).run()
    finally:
        engine.close()


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser(
        "serve",
        help="the chatbot as an OpenAI-compatible HTTP API with a web chat page",
        description="Serve POST /v1/chat/completions (OpenAI schema, streaming), feedback, "
        "digital twins, admin endpoints (reload, export, forget, audit) and the web chat page "
        "at / . Clients authenticate with an API key from 'liquidcare users add'. The request's "
        "'user' field is the id of the twin the chat is about. See docs/serve.md.",
    )
    serve.add_argument("--model", default="smollm2",
                       help="base model name/path, or a run directory holding adapter/ "
                       "(default: smollm2)")
    serve.add_argument("--store", default="care.db",
                       help="SQLite file or postgresql+psycopg:// URL (default: care.db)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on "
                       "(default: 127.0.0.1, this machine only)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve.add_argument("--workers", type=int, default=1,
                       help="server processes, each with its own copy of the model (default: 1)")
    serve.add_argument("--guard", choices=["on", "off"], default="on",
                       help="check every request and reply with liquidcare.safety.Guard "
                       "(default: on; with it a streamed reply is sent sentence by sentence, "
                       "each sentence once checked)")
    serve.add_argument("--guard-policy", default=None, help="YAML policy for the guard")
    serve.add_argument("--max-queue", type=int, default=64,
                       help="requests waiting for the model before new ones get 503 "
                       "(default: 64)")
    serve.add_argument("--max-tokens", type=int, default=256,
                       help="reply length when a request sets none (default: 256)")
    serve.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N")
    serve.add_argument("--rate-limit", type=float, default=120.0,
                       help="requests a minute per API key, bursts of half that; over it a "
                       "client gets 429 with Retry-After (default: 120; 0: no limit)")
    serve.add_argument("--journal", default=None,
                       help="file journalling streamed replies as they are sent, so a crash "
                       "loses nothing a client saw (default: STORE.partials beside a SQLite "
                       "store, else under ~/.local/state/liquidcare/)")
    serve.set_defaults(func=cmd_serve)

    chat = sub.add_parser(
        "chat",
        help="chat with the model in this terminal (streamed; /good, /bad, /twin, /quit)",
        description="A terminal chat. With --store (and an API key) every message is stored "
        "as in the web chat, /good and /bad rate the last reply, /twin ID picks the person "
        "cared for. Without --store the chat stays in memory.",
    )
    chat.add_argument("--model", default="smollm2",
                      help="base model name/path or run directory (default: smollm2)")
    chat.add_argument("--store", default=None, help="SQLite file or database URL")
    chat.add_argument("--key", default=None,
                      help="API key for --store (default: $LIQUIDCARE_API_KEY)")
    chat.add_argument("--twin", type=int, default=None,
                      help="id of the twin the chat is about")
    chat.add_argument("--guard", choices=["on", "off"], default="on",
                      help="check requests and replies with liquidcare.safety (default: on)")
    chat.add_argument("--max-tokens", type=int, default=256)
    chat.add_argument("--device", default="auto")
    chat.set_defaults(func=cmd_chat)
