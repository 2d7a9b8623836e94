"""The web chat page end to end in headless Chromium (Debian's, driven by Playwright for Python).

Start the server on a free loopback port with a tiny model, load the page, log in with an API
key, pick the twin, send a message, watch the reply stream in, click thumbs up, and find the
rating in the database; then speak to it through a fake microphone fed with our own speech,
send a photo of a medicine box, have a reply read aloud, give and withdraw consent from the
keyboard, and audit every state of the page with axe-core (npm, installed into node_modules by
scripts/system-deps): no serious or critical WCAG 2.2 AA violation. Without /usr/bin/chromium (or
axe-core, or the voice packages) the tests are skipped with the reason, except under CI=true, where
a missing piece is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from media_helpers import care_world, need
from serve_helpers import LiveServer, tiny_engine
from test_serve_api import make_world

from liquidcare.serve.app import create_app

CHROMIUM = os.environ.get("LIQUIDCARE_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
AXE = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def _missing(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the browser test must run in CI: {what}")
    pytest.skip(what)


def _browser_or_skip():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        _missing(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _missing("Python Playwright is not installed (pip install playwright)")


def _launch(tmp_path, extra_flags=()):
    from playwright.sync_api import sync_playwright

    p = sync_playwright().start()
    context = p.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True,
        args=[*FLAGS, *extra_flags], locale="en-GB")
    return p, context


@pytest.fixture
def browser_page(tmp_path):
    _browser_or_skip()
    p, context = _launch(tmp_path)
    try:
        yield context.pages[0] if context.pages else context.new_page()
    finally:
        context.close()
        p.stop()


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
        assert page.title() == "Genuine Carers"  # the browser speaks English (locale en-GB)
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
                               ".includes('Carmen Ruiz, 84')")
        # Carmen speaks Spanish: the page switched to it on its own
        assert page.evaluate("document.documentElement.lang") == "es"
        assert page.text_content("#send") == "Enviar"
        assert page.title() == "Cuidadores de Verdad"

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
        page.keyboard.press("Enter")  # Enter sends; the keyboard is enough
        button = page.wait_for_selector("#messages li.assistant .rate-good", timeout=60_000)
        reply = page.text_content("#messages li.assistant .text")
        assert reply and reply.strip()
        assert page.evaluate("window.__lengths.size") >= 3  # it grew piece by piece
        # the rating buttons are named in words, not only by an emoji or an icon
        assert button.text_content().strip() == "Buena respuesta"
        assert page.text_content("#messages li.assistant .rate-bad").strip() == "Mala respuesta"

        button.click()
        page.wait_for_selector("#messages li.assistant .rate-good.chosen[aria-pressed=true]")

        # the timeline panel shows the fall the message revealed
        page.wait_for_function("document.querySelector('#timeline').textContent"
                               ".includes('fall')")

        # the language toggle translates the page, its own name included
        assert page.text_content("#lang-toggle") == "English"
        page.click("#lang-toggle")
        assert page.text_content("#send") == "Send"
        assert page.text_content("#messages li.assistant .rate-good").strip() == "Good reply"
        assert page.evaluate("document.documentElement.lang") == "en"
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


def _active(store, **subject) -> list[tuple[str, str]]:
    return [(c.scope, c.granted_by_role) for c in store.consents(by=None, **subject) if c.active]


def test_web_consent_panel_by_keyboard_in_both_languages(browser_page, store_url):
    from liquidcare.feedback import open_store

    world = make_world(open_store(store_url))
    engine = tiny_engine()
    server = LiveServer(create_app(engine, world.store, default_max_tokens=3)).start()
    page = browser_page
    grant = '#consent-subjects button[data-kind="{}"][data-scope="research_retraining"]'
    try:
        page.goto(server.url + "/")
        page.fill("#api-key", world.carer_key)
        page.keyboard.press("Enter")
        page.wait_for_selector("#consent-subjects .consent-subject")
        # Carmen speaks Spanish: the panel too; the carer's own consent has a button per use,
        # Carmen's is shown to her carer but is hers (or an admin's) to change
        blocks = page.query_selector_all("#consent-subjects .consent-subject")
        assert [b.query_selector("h3").text_content() for b in blocks] == [
            "Tu consentimiento", "Consentimiento de Carmen Ruiz"]
        assert len(blocks[0].query_selector_all("button")) == 3
        assert blocks[1].query_selector_all("button") == []
        assert "Solo la persona o un administrador" in blocks[1].text_content()
        assert blocks[1].text_content().count("No dado") == 3
        own = grant.format("user")
        assert page.text_content(own) == (
            "Dar consentimiento: Mejorar el modelo de este centro con las conversaciones y "
            "valoraciones")  # visible words, then which use (for screen readers)

        # the keyboard is enough: Enter gives consent, the focus stays on the redrawn button
        page.focus(own)
        page.keyboard.press("Enter")
        page.wait_for_selector(own + ".consent-withdraw")
        assert _active(world.store, user_id=world.carer.id) == [
            ("research_retraining", "carer")]
        assert page.evaluate("document.activeElement.dataset.scope") == "research_retraining"
        assert "Dado el" in page.text_content("#consent-subjects .consent-subject")
        assert page.text_content("#consent-status").startswith("Consentimiento dado:")
        page.click("#lang-toggle")
        assert page.text_content(own).startswith("Withdraw consent: Improving this centre")
        page.focus(own)
        page.keyboard.press("Enter")
        page.wait_for_selector(own + ".consent-grant")
        assert _active(world.store, user_id=world.carer.id) == []
        assert "Withdrawn on" in page.text_content("#consent-subjects .consent-subject")
        assert page.text_content("#consent-status").startswith("Consent withdrawn:")

        # an admin may record Carmen's consent (a signed form) from the same panel
        page.click("#logout")
        page.wait_for_selector("#login-view:not(.hidden)")
        page.fill("#api-key", world.admin_key)
        page.keyboard.press("Enter")
        page.wait_for_selector(grant.format("twin"))
        page.click(grant.format("twin"))
        page.wait_for_selector(grant.format("twin") + ".consent-withdraw")
        assert _active(world.store, twin_id=world.twin.id) == [("research_retraining", "admin")]
    finally:
        server.stop()
        engine.close()


def _rating_of(store, message_id):
    from sqlalchemy import text

    with store.engine.connect() as db:
        row = db.execute(text("SELECT value, user_id FROM ratings WHERE message_id = :m"),
                         {"m": message_id}).one()
    return tuple(row)


# --- voice, photo, accessibility --------------------------------------------------------------
def _audit(page, state: str) -> list[dict]:
    """axe-core's serious and critical WCAG 2.2 A/AA violations in the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async (tags) => {
        const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
        return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""", WCAG)
    return [{"state": state, **v} for v in found]


SOURCES_STREAM = "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in [
    {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "m",
     "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Bebe agua a menudo."},
                  "finish_reason": None}]},
    {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "m",
     "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "message_id": None,
     "sources": [{"id": "hydration-agua-es", "title": "Beber suficiente agua",
                  "publisher": "Servicio de salud", "url": "https://example.org/agua",
                  "reviewed": "2026-10-01"}]},
]) + "data: [DONE]\n\n"


def test_voice_photo_sources_and_axe_audit_of_every_state(tmp_path, embedded_home):
    _browser_or_skip()
    if not AXE.exists():
        _missing(f"{AXE} is missing (scripts/system-deps runs npm ci)")
    need("stt")
    need("espeak")
    need("ocr")
    from liquidcare.media import audio as audio_mod
    from liquidcare.media import stt, synth, tts

    store, carer, key, twin, _ = care_world(tmp_path / "care.db")
    clip = tmp_path / "speech.wav"
    clip.write_bytes(audio_mod.wav_bytes(tts.Speaker().speak(
        "Buenos días. Hoy vamos a dar un paseo por el parque.", "espeak-es")))
    engine = tiny_engine()
    engine.loaded.model.config.max_position_embeddings = 2048  # room for a photo's note
    app = create_app(engine, store, default_max_tokens=6)
    app.state.transcriber = stt.Transcriber(
        stt.prepare_whisper_base(embedded_home / "media" / "whisper-base"))
    server = LiveServer(app).start()
    p, context = _launch(tmp_path, ["--use-fake-ui-for-media-stream",
                                    "--use-fake-device-for-media-stream",
                                    f"--use-file-for-fake-audio-capture={clip}",
                                    "--autoplay-policy=no-user-gesture-required"])
    context.grant_permissions(["microphone"], origin=server.url)
    page = context.pages[0] if context.pages else context.new_page()
    violations: list[dict] = []
    try:
        page.goto(server.url + "/")
        violations += _audit(page, "login")
        page.fill("#api-key", "lc-wrong")
        page.keyboard.press("Enter")
        page.wait_for_function("document.querySelector('#login-error').textContent.length > 0")
        violations += _audit(page, "login error")
        page.fill("#api-key", key)
        page.keyboard.press("Enter")
        page.wait_for_selector("#chat-view:not(.hidden)")
        # the twin panel is written for people
        page.wait_for_function("document.querySelector('#twin-summary').textContent"
                               ".includes('Furosemida 40 mg — 08:00')")
        summary = page.text_content("#twin-summary")
        assert "Sintrom 4 mg — 20:00" in summary and "insuficiencia cardiaca" in summary
        assert "schedule" not in summary and "name:" not in summary
        # the consent panel: the carer's own (buttons) and Carmen's (read only), in Spanish
        page.wait_for_selector("#consent-subjects .consent-subject")
        violations += _audit(page, "chat, Spanish twin")
        own = '#consent-subjects button[data-kind="user"][data-scope="federated"]'
        page.focus(own)
        page.keyboard.press("Enter")
        page.wait_for_selector(own + ".consent-withdraw")
        assert page.text_content("#consent-status").startswith("Consentimiento dado:")
        violations += _audit(page, "consent given")

        # hold to talk with the keyboard: Space down records, Space up sends
        page.focus("#mic")
        page.keyboard.down(" ")
        page.wait_for_selector("#mic[aria-pressed=true]")
        violations += _audit(page, "recording")
        page.wait_for_timeout(5_500)
        page.keyboard.up(" ")
        page.wait_for_selector("#messages li.assistant .read-aloud", timeout=120_000)
        heard = page.text_content("#messages li.user .text").lower()
        assert "paseo" in heard or "parque" in heard, heard
        violations += _audit(page, "reply to a spoken message")

        # read the reply aloud: the page asks the speech endpoint and plays the stream as it
        # comes, piece by piece on a Web Audio clock (counted here), then lets the button go
        page.evaluate("""() => {
            window.queuedPieces = 0;
            const make = AudioContext.prototype.createBufferSource;
            AudioContext.prototype.createBufferSource = function () {
                window.queuedPieces += 1;
                return make.call(this);
            };
        }""")
        with page.expect_response("**/v1/audio/speech") as speech:
            page.click("#messages li.assistant .read-aloud")
        assert speech.value.status == 200
        assert speech.value.headers["content-type"] == "audio/wav"
        assert speech.value.headers["x-voice"] == "espeak-es"
        assert page.get_attribute("#messages li.assistant .read-aloud", "aria-pressed") == "true"
        page.wait_for_function("document.querySelector('#messages li.assistant .read-aloud')"
                               ".getAttribute('aria-pressed') === 'false'", timeout=60_000)
        assert page.evaluate("window.queuedPieces") >= 1
        assert page.text_content("#chat-error") == ""

        # a photo of a medicine box, through the photo button's file input
        box = synth.render_box(synth.Box(["FUROSEMIDA", "40 mg", "30 comprimidos"]), tilt=6,
                               blur=1.0, jpeg=75, width=1100)
        page.set_input_files("#photo-file", files=[{"name": "caja.jpg", "mimeType": "image/jpeg",
                                                    "buffer": box}])
        page.wait_for_function("document.querySelectorAll('#messages li.assistant .tools')"
                               ".length === 2", timeout=120_000)
        assert page.get_attribute("#messages li.user img.photo", "alt") == "Foto que has enviado"
        violations += _audit(page, "reply to a photo")

        # a reply that carries its sources lists them under it
        page.route("**/v1/chat/completions", lambda route: route.fulfill(
            status=200, headers={"Content-Type": "text/event-stream"}, body=SOURCES_STREAM))
        page.fill("#input", "¿Cuánta agua debo beber?")
        page.keyboard.press("Enter")
        page.wait_for_selector("#messages li.assistant .sources a")
        assert page.text_content("#messages li.assistant .sources") == \
            "FuentesBeber suficiente agua — Servicio de salud, revisado 2026-10-01"
        page.unroute("**/v1/chat/completions")
        violations += _audit(page, "reply with sources")

        page.click("#large-toggle")
        assert page.evaluate("document.documentElement.classList.contains('large')")
        violations += _audit(page, "large text")
        page.click("#contrast-toggle")
        assert page.get_attribute("#contrast-toggle", "aria-pressed") == "true"
        violations += _audit(page, "large text, high contrast")
        page.click("#large-toggle")
        violations += _audit(page, "high contrast")
        page.click("#lang-toggle")
        violations += _audit(page, "high contrast, English")
        # the settings outlive a reload
        page.reload()
        assert page.evaluate("document.documentElement.classList.contains('contrast')")
        page.wait_for_selector("#chat-view:not(.hidden)")
        violations += _audit(page, "after reload")
        # the audit itself works: an icon-only button is caught
        page.evaluate("""() => { const b = document.createElement('button');
            b.id = 'probe'; b.innerHTML = '<svg aria-hidden="true"></svg>';
            document.querySelector('.send-tools').appendChild(b); }""")
        assert [v["id"] for v in _audit(page, "probe")] == ["button-name"]
        page.evaluate("document.getElementById('probe').remove()")
        page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    finally:
        context.close()
        p.stop()
        server.stop()
        engine.close()
    assert violations == [], json.dumps(violations, indent=1, ensure_ascii=False)
    conv = store.get_conversation(store.list_conversations(by=carer)[0].id, by=carer)
    users = [m.content for m in conv.messages if m.role == "user"]
    assert any("Furosemida 40 mg, a las 08:00" in m for m in users), users
