"""The web chat page end to end in headless Chromium (Debian's, driven by Playwright for Python).

Start the server on a free loopback port with a tiny model, load the page, log in with an API
key, pick the twin, send a message, watch the reply stream in, click thumbs up, and find the
rating in the database. Without /usr/bin/chromium the test is skipped with the reason, except
under CI=true, where a missing browser is a failure (CI installs it: see .ci/run).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from serve_helpers import LiveServer, tiny_engine
from test_serve_api import make_world

from liquidcare.serve.app import create_app

CHROMIUM = os.environ.get("LIQUIDCARE_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _browser_or_skip():
    missing = None
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        missing = f"{CHROMIUM} is missing (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "Python Playwright is not installed (pip install playwright)"
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser test must run in CI: {missing}")
        pytest.skip(missing)


@pytest.fixture
def browser_page(tmp_path):
    _browser_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


def test_web_chat_login_stream_and_thumbs_up(browser_page, store_url):
    from liquidcare.feedback import open_store

    world = make_world(open_store(store_url))
    engine = tiny_engine()
    # a tiny model answers in milliseconds, so the whole reply could arrive in one network read;
    # 80 ms per forward pass makes the stream visibly incremental, as with a real model
    engine.loaded.model.register_forward_pre_hook(lambda module, args: time.sleep(0.08))
    server = LiveServer(create_app(engine, world.store, default_max_tokens=12)).start()
    page = browser_page
    try:
        page.goto(server.url + "/")
        assert page.title() == "Genuine Carers"
        # a wrong key is refused on the page
        page.fill("#api-key", "lc-wrong")
        page.click("#login")
        page.wait_for_function("document.querySelector('#login-error').textContent.length > 0")
        # the right key opens the chat with the carer's twin selected and its summary shown
        page.fill("#api-key", world.carer_key)
        page.click("#login")
        page.wait_for_selector("#chat-view:not(.hidden)")
        assert page.input_value("#twin-select") == str(world.twin.id)
        page.wait_for_function("document.querySelector('#twin-summary').textContent"
                               ".includes('Carmen Ruiz')")

        # record each length the reply's text goes through while it streams in
        page.evaluate("""() => {
            window.__lengths = new Set();
            new MutationObserver(() => {
                const el = document.querySelector('#messages li.assistant .text');
                if (el && el.textContent) window.__lengths.add(el.textContent.length);
            }).observe(document.querySelector('#messages'),
                       {subtree: true, childList: true, characterData: true});
        }""")
        page.fill("#input", "She fell in the kitchen w5 w6")  # w5 w6: words of the tiny vocab
        page.click("#send")
        button = page.wait_for_selector("#messages li.assistant .rate-good", timeout=60_000)
        reply = page.text_content("#messages li.assistant .text")
        assert reply and reply.strip()
        assert page.evaluate("window.__lengths.size") >= 3  # it grew piece by piece

        button.click()
        page.wait_for_selector("#messages li.assistant .rate-good.chosen")

        # the timeline panel shows the fall the message revealed
        page.wait_for_function("document.querySelector('#timeline').textContent"
                               ".includes('fall')")

        # the language toggle translates the page
        page.click("#lang-toggle")
        assert page.text_content("#send") == "Enviar"
        assert page.evaluate("document.documentElement.lang") == "es"
    finally:
        server.stop()
        engine.close()

    convs = world.store.list_conversations(by=world.carer)
    assert len(convs) == 1
    conv = world.store.get_conversation(convs[0].id, by=world.carer)
    assert [m.role for m in conv.messages] == ["user", "assistant"]
    assert conv.messages[0].content == "She fell in the kitchen w5 w6"
    assert conv.messages[1].content == reply
    assert conv.messages[1].model_version == "tiny-llama"
    rating = _rating_of(world.store, conv.messages[1].id)
    assert rating == (1, world.carer.id)


def _rating_of(store, message_id):
    from sqlalchemy import text

    with store.engine.connect() as db:
        row = db.execute(text("SELECT value, user_id FROM ratings WHERE message_id = :m"),
                         {"m": message_id}).one()
    return tuple(row)
