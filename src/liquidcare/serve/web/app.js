// The web chat page: plain JavaScript against the same /v1 API that OpenAI clients use.
// Voice (hold to talk, read aloud) is in voice.js, the twin panel in twin.js, the consent panel in
// consent.js, texts in strings.js.
import { consentRequest, renderConsent, scopeName } from "./consent.js";
import { STRINGS } from "./strings.js";
import { renderTwin } from "./twin.js";
import { holdToTalk, shrinkPhoto, speak, stopSpeaking, transcribe } from "./voice.js";

const browserLang = (navigator.languages || [navigator.language || "en"])
  .map((l) => l.slice(0, 2).toLowerCase()).find((l) => l === "en" || l === "es") || "en";
const state = {
  key: sessionStorage.getItem("liquidcare-key") || "",
  lang: browserLang,
  twins: [],
  twinId: "",
  conversationId: null,
  consent: null,
};

const $ = (id) => document.getElementById(id);
const t = (name) => STRINGS[state.lang][name] || name;
const SVG = {
  up: '<path d="M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.4-1.1L13.2 1 6.6 7.6C6.2 8 6 8.5 6 9v10a2 2 0 0 0 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z"/>',
  speaker: '<path d="M3 9v6h4l5 5V4L7 9H3zm13.5 3A4.5 4.5 0 0 0 14 8v8a4.5 4.5 0 0 0 2.5-4z"/>',
};

function icon(name, flip = false) {
  const style = flip ? ' style="transform: rotate(180deg)"' : "";
  return `<svg aria-hidden="true" focusable="false" viewBox="0 0 24 24" width="20" height="20"${style}>${SVG[name]}</svg>`;
}

function setLanguage(lang) {
  if (lang !== "en" && lang !== "es") return;
  state.lang = lang;
  document.documentElement.lang = lang;
  document.title = t("title");
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  $("input").placeholder = t("placeholder");
  const toggle = $("lang-toggle");
  toggle.textContent = t("otherLanguage");
  toggle.lang = lang === "en" ? "es" : "en";
  toggle.setAttribute("aria-label", t("otherLanguageName"));
  document.querySelectorAll("[data-i18n-label]").forEach((el) => {
    el.querySelector(".label").textContent = t(el.dataset.i18nLabel);
  });
  const none = $("twin-select").querySelector('option[value=""]');
  if (none) none.textContent = t("noTwin");
  const twin = state.twins.find((x) => String(x.id) === state.twinId);
  renderTwin($("twin-summary"), twin, t);
  showConsent();
}

function setStatus(text) { $("status").textContent = text || ""; }
function setError(text) { $("chat-error").textContent = text || ""; }

async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${state.key}`, ...(options.headers || {}) };
  const init = { ...options, headers };
  if (options.form) { init.body = options.form; delete init.form; }
  else if (options.body) headers["Content-Type"] = "application/json";
  const response = await fetch(path, init);
  if (!response.ok && !options.raw) {
    let message = `${response.status}`;
    try { message = (await response.json()).error.message; } catch (_) { /* not JSON */ }
    const err = new Error(message);
    err.status = response.status;
    throw err;
  }
  return options.raw ? response : response.json();
}

async function login(key) {
  state.key = key;
  try {
    state.twins = (await api("/v1/twins")).data;
  } catch (err) {
    state.key = "";
    sessionStorage.removeItem("liquidcare-key");
    $("login-error").textContent = err.status === 401 ? t("badKey") : err.message;
    $("api-key").setAttribute("aria-invalid", "true");
    return;
  }
  sessionStorage.setItem("liquidcare-key", key);
  $("login-error").textContent = "";
  $("api-key").removeAttribute("aria-invalid");
  $("login-view").classList.add("hidden");
  $("chat-view").classList.remove("hidden");
  $("logout").classList.remove("hidden");
  fillTwins();
  loadConsent();
  $("input").focus();
}

function fillTwins() {
  const select = $("twin-select");
  select.innerHTML = "";
  const none = document.createElement("option");
  none.value = "";
  none.textContent = t("noTwin");
  select.appendChild(none);
  for (const twin of state.twins) {
    const option = document.createElement("option");
    option.value = String(twin.id);
    option.textContent = twin.name || `#${twin.id}`;
    select.appendChild(option);
  }
  if (state.twins.length) select.value = String(state.twins[0].id);
  selectTwin(select.value);
}

async function selectTwin(id) {
  stopSpeaking();
  state.twinId = id;
  state.conversationId = null;
  $("messages").innerHTML = "";
  $("timeline").innerHTML = "";
  const twin = state.twins.find((x) => String(x.id) === id);
  // the page speaks the person's language as soon as their twin is chosen
  if (twin && (twin.language === "en" || twin.language === "es")) setLanguage(twin.language);
  renderTwin($("twin-summary"), twin, t);
  showConsent();
  await loadTimeline();
}

function showConsent() {
  const twin = state.twins.find((x) => String(x.id) === state.twinId);
  renderConsent($("consent-subjects"), state.consent, state.twinId, twin && twin.name, t,
    changeConsent);
}

async function loadConsent() {
  try {
    state.consent = (await api("/v1/consent")).data;
  } catch (err) {
    state.consent = null;
    setError(err.message);
  }
  showConsent();
}

async function changeConsent(subject, scope, grant) {
  const { path, body } = consentRequest(subject, scope, grant);
  setError("");
  try {
    await api(path, { method: "POST", body: JSON.stringify(body) });
  } catch (err) { setError(err.message); return; }
  await loadConsent();
  $("consent-status").textContent =
    `${t(grant ? "consentSaved" : "consentRemoved")} ${scopeName(scope, t)}`;
  // the button was drawn again: keep the keyboard where it was
  const again = $("consent-subjects").querySelector(
    `button[data-kind="${subject.kind}"][data-id="${subject.id}"][data-scope="${scope}"]`);
  if (again) again.focus();
}

async function loadTimeline() {
  const timeline = $("timeline");
  if (!state.twinId) return;
  try {
    const events = (await api(`/v1/twins/${encodeURIComponent(state.twinId)}/timeline`)).data;
    timeline.innerHTML = "";
    if (!events.length) timeline.innerHTML = `<li>${t("empty")}</li>`;
    for (const event of events) {
      const li = document.createElement("li");
      const when = (event.at || event.created_at || "").replace("T", " ").slice(0, 16);
      li.textContent = `${when} ${event.kind || event.type || ""}: ${event.evidence || event.detail || ""}`;
      timeline.appendChild(li);
    }
  } catch (err) {
    timeline.innerHTML = "";
    const li = document.createElement("li");
    li.textContent = err.status === 403 ? t("noTimeline") : err.message;
    timeline.appendChild(li);
  }
}

function addMessage(role, text, photo) {
  const li = document.createElement("li");
  li.className = role;
  const who = document.createElement("span");
  who.className = "visually-hidden";
  who.textContent = `${role === "user" ? t("you") : t("assistant")}: `;
  li.appendChild(who);
  if (photo) {
    const img = document.createElement("img");
    img.src = photo;
    img.alt = t("photoAlt");
    img.className = "photo";
    li.appendChild(img);
  }
  const body = document.createElement("div");
  body.className = "text";
  body.textContent = text;
  li.appendChild(body);
  $("messages").appendChild(li);
  li.scrollIntoView({ block: "end" });
  return li;
}

function button(className, labelKey, iconHtml) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = className;
  b.dataset.i18nLabel = labelKey;
  b.innerHTML = `${iconHtml}<span class="label"></span>`;
  b.querySelector(".label").textContent = t(labelKey);
  return b;
}

function addTools(li, messageId, text) {
  const bar = document.createElement("div");
  bar.className = "tools";
  const read = button("read-aloud", "readAloud", icon("speaker"));
  read.setAttribute("aria-pressed", "false");
  read.addEventListener("click", () => toggleReading(read, text));
  bar.appendChild(read);
  if (messageId !== null) {
    const group = document.createElement("div");
    group.className = "rate";
    group.setAttribute("role", "group");
    for (const [kind, value, flip] of [["good", 1, false], ["bad", -1, true]]) {
      const b = button(`rate-${kind}`, kind, icon("up", flip));
      b.dataset.value = String(value);
      b.setAttribute("aria-pressed", "false");
      b.addEventListener("click", async () => {
        try {
          await api("/v1/feedback", {
            method: "POST", body: JSON.stringify({ message_id: messageId, value }),
          });
          group.querySelectorAll("button").forEach((x) => {
            x.classList.remove("chosen");
            x.setAttribute("aria-pressed", "false");
          });
          b.classList.add("chosen");
          b.setAttribute("aria-pressed", "true");
          setStatus(t("rated"));
        } catch (err) { setError(err.message); }
      });
      group.appendChild(b);
    }
    bar.appendChild(group);
  }
  li.appendChild(bar);
  return read;
}

async function toggleReading(b, text) {
  if (b.getAttribute("aria-pressed") === "true") { stopSpeaking(); return; }
  document.querySelectorAll(".read-aloud[aria-pressed=true]").forEach((x) => {
    x.setAttribute("aria-pressed", "false");
  });
  b.setAttribute("aria-pressed", "true");
  b.querySelector(".label").textContent = t("stopReading");
  const done = () => {
    b.setAttribute("aria-pressed", "false");
    b.querySelector(".label").textContent = t("readAloud");
  };
  try { await speak(api, text, state.lang, done); } catch (err) { done(); setError(err.message); }
}

function addSources(li, sources) {
  if (!sources || !sources.length) return;
  const box = document.createElement("div");
  box.className = "sources";
  const head = document.createElement("p");
  head.className = "sources-head";
  head.textContent = t("sources");
  box.appendChild(head);
  const ul = document.createElement("ul");
  for (const s of sources) {
    const item = document.createElement("li");
    const link = document.createElement(s.url ? "a" : "span");
    if (s.url) { link.href = s.url; link.rel = "noopener noreferrer"; link.target = "_blank"; }
    link.textContent = s.title || s.id;
    item.appendChild(link);
    const meta = [s.publisher, s.reviewed ? `${t("reviewed")} ${s.reviewed}` : ""]
      .filter(Boolean).join(", ");
    if (meta) item.appendChild(document.createTextNode(` — ${meta}`));
    ul.appendChild(item);
  }
  box.appendChild(ul);
  li.appendChild(box);
}

async function send(text, photo) {
  setError("");
  addMessage("user", text, photo);
  const li = addMessage("assistant", "");
  const target = li.querySelector(".text");
  li.setAttribute("aria-busy", "true");
  const content = photo
    ? [{ type: "text", text }, { type: "image_url", image_url: { url: photo } }] : text;
  const body = { model: "liquidcare", stream: true, messages: [{ role: "user", content }] };
  if (state.twinId) body.user = state.twinId;
  if (state.conversationId) body.conversation_id = state.conversationId;
  let response;
  for (let attempt = 0; attempt < 5; attempt++) {
    response = await api("/v1/chat/completions", {
      method: "POST", body: JSON.stringify(body), raw: true,
    });
    if (response.status !== 503) break;
    target.textContent = t("busy");
    const wait = Number(response.headers.get("Retry-After") || "2");
    await new Promise((resolve) => setTimeout(resolve, wait * 1000));
  }
  if (!response.ok) {
    let message = `${response.status}`;
    try { message = (await response.json()).error.message; } catch (_) { /* not JSON */ }
    li.remove();
    setError(message);
    return;
  }
  target.textContent = "";
  let messageId = null;
  let sources = null;
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) !== -1) {
      const line = buffer.slice(0, cut).trim();
      buffer = buffer.slice(cut + 2);
      if (!line.startsWith("data:")) continue;
      const data = line.slice(5).trim();
      if (data === "[DONE]") continue;
      const chunk = JSON.parse(data);
      if (chunk.error) { setError(chunk.error.message); continue; }
      if (chunk.conversation_id) state.conversationId = chunk.conversation_id;
      if (chunk.message_id) messageId = chunk.message_id;
      if (chunk.sources) sources = chunk.sources;
      const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta;
      if (delta && delta.content) {
        target.textContent = chunk.replace ? delta.content : target.textContent + delta.content;
        li.scrollIntoView({ block: "end" });
      }
    }
  }
  li.removeAttribute("aria-busy");
  addSources(li, sources);
  const read = addTools(li, messageId, target.textContent);
  if ($("auto-read").checked && target.textContent.trim()) toggleReading(read, target.textContent);
  loadTimeline();
}

async function submit(text, photo) {
  $("send").disabled = true;
  try { await send(text, photo); } catch (err) { setError(err.message); }
  finally { $("send").disabled = false; }
}

function setMode(name, on) {
  document.documentElement.classList.toggle(name, on);
  $(`${name}-toggle`).setAttribute("aria-pressed", String(on));
  localStorage.setItem(`liquidcare-${name}`, on ? "1" : "");
}

document.addEventListener("DOMContentLoaded", () => {
  setLanguage(state.lang);
  for (const name of ["large", "contrast"]) {
    setMode(name, localStorage.getItem(`liquidcare-${name}`) === "1");
    $(`${name}-toggle`).addEventListener("click", () => {
      setMode(name, !document.documentElement.classList.contains(name));
    });
  }
  $("auto-read").checked = localStorage.getItem("liquidcare-auto-read") === "1";
  $("auto-read").addEventListener("change", (e) => {
    localStorage.setItem("liquidcare-auto-read", e.target.checked ? "1" : "");
  });
  $("lang-toggle").addEventListener("click", () => setLanguage(state.lang === "en" ? "es" : "en"));
  $("login-form").addEventListener("submit", (e) => {
    e.preventDefault();
    login($("api-key").value.trim());
  });
  $("logout").addEventListener("click", () => {
    sessionStorage.removeItem("liquidcare-key");
    location.reload();
  });
  $("twin-select").addEventListener("change", (e) => selectTwin(e.target.value));
  $("new-chat").addEventListener("click", () => selectTwin(state.twinId));
  $("send-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("input").value.trim();
    if (!text) return;
    $("input").value = "";
    submit(text);
  });
  $("input").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("send-form").requestSubmit(); }
  });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") stopSpeaking(); });

  const mic = $("mic");
  holdToTalk(mic, {
    onStart: () => {
      stopSpeaking();
      setError("");
      mic.setAttribute("aria-pressed", "true");
      mic.querySelector(".label").textContent = t("recording");
      setStatus(t("recording"));
    },
    onAudio: async (blob) => {
      mic.setAttribute("aria-pressed", "false");
      mic.querySelector(".label").textContent = t("talk");
      setStatus(t("transcribing"));
      try {
        const twin = state.twins.find((x) => String(x.id) === state.twinId);
        // No prompt: the twin's medicine names as Whisper's prompt made the dev clips worse
        // (noise is read as names; docs/media.md), so only the language goes with the audio.
        const text = await transcribe(api, blob, twin ? twin.language : null);
        setStatus(text ? `${t("heard")} ${text}` : t("tooShort"));
        if (text) await submit(text);
      } catch (err) { setStatus(""); setError(err.message); }
    },
    onTooShort: () => {
      mic.setAttribute("aria-pressed", "false");
      mic.querySelector(".label").textContent = t("talk");
      setStatus(t("tooShort"));
    },
    onError: () => { setError(t("noMic")); },
  });

  $("photo").addEventListener("click", () => $("photo-file").click());
  $("photo-file").addEventListener("change", async (e) => {
    const file = e.target.files && e.target.files[0];
    e.target.value = "";
    if (!file) return;
    setStatus(t("readingPhoto"));
    try {
      const url = await shrinkPhoto(file);
      const text = $("input").value.trim() || t("photoQuestion");
      $("input").value = "";
      await submit(text, url);
      setStatus("");
    } catch (err) { setStatus(""); setError(err.message); }
  });
  if (state.key) login(state.key);
});
