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


def test_chat_with_a_store_stores_rates_and_switches_twin(tmp_path):
    from liquidcare.feedback import open_store

    store = open_store(str(tmp_path / "care.db"))
    carer, _ = store.add_user("Ana", role="carer")
    stranger, _ = store.add_user("Olga", role="carer")
    carmen = store.create_twin({"name": "Carmen", "language": "es"}, by=carer)
    luis = store.create_twin({"name": "Luis", "language": "en"}, by=carer)
    hidden = store.create_twin({"name": "Other", "language": "en"}, by=stranger)
    code, text, chat = _run(
        ["w4", "/good lovely", "w5", "/bad", "/twin", f"/twin {hidden.id}", f"/twin {luis.id}",
         "w6", "/quit"],
        store=store, user=carer, twin_id=carmen.id)
    assert code == 0
    convs = [store.get_conversation(c.id, by=carer)
             for c in sorted(store.list_conversations(by=carer), key=lambda c: c.id)]
    assert [(c.twin_id, [m.role for m in c.messages]) for c in convs] == [
        (carmen.id, ["user", "assistant", "user", "assistant"]),
        (luis.id, ["user", "assistant"])]
    first, second = convs[0].messages[1], convs[0].messages[3]
    assert [(r.value, r.comment) for r in store.ratings(first.id, by=carer)] == [(1, "lovely")]
    assert [r.value for r in store.ratings(second.id, by=carer)] == [-1]
    assert first.model_version == "tiny-llama"
    assert "Carmen" in text and "error" in text  # /twin shows it; the stranger's twin is refused
    assert chat.twin_id == luis.id


def test_chat_command_reads_piped_stdin_and_checks_the_key(tmp_path, monkeypatch, capsys):
    from tiny_models import save_tiny

    from liquidcare.cli import main
    from liquidcare.feedback import open_store

    model_dir = save_tiny(tmp_path / "tiny")
    db = str(tmp_path / "care.db")
    store = open_store(db)
    carer, key = store.add_user("Ana", role="carer")
    monkeypatch.setattr("sys.stdin", io.StringIO("w4 w5\n/good\n/quit\n"))
    assert main(["chat", "--model", str(model_dir), "--store", db, "--key", key,
                 "--max-tokens", "3", "--device", "cpu", "--guard", "off",
                 "--grounding", "off"]) == 0
    (conv,) = store.list_conversations(by=carer)
    reply = store.get_conversation(conv.id, by=carer).messages[1]
    assert [r.value for r in store.ratings(reply.id, by=carer)] == [1]
    assert reply.content in capsys.readouterr().out

    assert main(["chat", "--model", str(model_dir), "--store", db, "--key", "lc-wrong",
                 "--guard", "off", "--grounding", "off"]) == 1
    assert "not valid" in capsys.readouterr().err
    monkeypatch.delenv("LIQUIDCARE_API_KEY", raising=False)
    assert main(["chat", "--store", db]) == 1
    assert "--key" in capsys.readouterr().err
