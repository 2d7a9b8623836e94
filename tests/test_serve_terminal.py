"""liquidcare chat: the terminal loop driven with scripted input (no store here; see
test_serve_api.py for the chat with a store)."""

from __future__ import annotations

import io

from rich.console import Console
from serve_helpers import tiny_engine

from liquidcare.serve.terminal import TerminalChat


def _run(lines: list[str], **kwargs):
    engine = tiny_engine()
    out = io.StringIO()
    console = Console(file=out, width=100, force_terminal=False)
    chat = TerminalChat(engine, console=console, max_tokens=5, **kwargs)
    feed = iter(lines)

    def read() -> str:
        try:
            return next(feed)
        except StopIteration:
            raise EOFError from None

    code = chat.run(read)
    engine.close()
    return code, out.getvalue(), chat


def test_chat_without_store_streams_replies_and_keeps_the_history():
    code, text, chat = _run(["w4 w5", "w6", "/quit", "never read"])
    assert code == 0
    assert [m["role"] for m in chat.history] == ["user", "assistant", "user", "assistant"]
    for reply in (chat.history[1]["content"], chat.history[3]["content"]):
        assert reply and reply in text
    assert "tiny-llama" in text  # the banner names the model version


def test_rating_without_a_store_explains_instead_of_failing():
    code, text, chat = _run(["/good", "/twin", "/nope"])
    assert code == 0
    assert "start the chat with --store" in text
    assert "unknown command /nope" in text


def test_end_of_input_ends_the_chat():
    code, text, chat = _run(["w4"])
    assert code == 0 and len(chat.history) == 2
