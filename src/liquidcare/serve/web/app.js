// The web chat page: plain JavaScript against the same /v1 API that OpenAI clients use.
"use strict";

const STRINGS = {
  en: {
    title: "Genuine Carers", apiKey: "API key", login: "Log in", logout: "Log out",
    twin: "Person cared for", noTwin: "(no one)", newChat: "New conversation", send: "Send",
    summary: "Summary", timeline: "Timeline", good: "Good reply", bad: "Bad reply",
    badKey: "That API key was not accepted.", noTimeline: "Not visible to you.",
    empty: "Nothing yet.", placeholder: "Write a message…", thanks: "Thank you",
    busy: "The assistant is busy; trying again…",
  },
  es: {
    title: "Cuidadores de Verdad", apiKey: "Clave de acceso", login: "Entrar", logout: "Salir",
    twin: "Persona cuidada", noTwin: "(nadie)", newChat: "Nueva conversación", send: "Enviar",
    summary: "Resumen", timeline: "Historial", good: "Buena respuesta", bad: "Mala respuesta",
    badKey: "No se ha aceptado esa clave.", noTimeline: "No lo puedes ver.",
    empty: "Nada todavía.", placeholder: "Escribe un mensaje…", thanks: "Gracias",
    busy: "El asistente está ocupado; lo intento otra vez…",
  },
};

const state = {
  key: sessionStorage.getItem("liquidcare-key") || "",
  lang: localStorage.getItem("liquidcare-lang") || "en",
  twins: [],
  twinId: "",
  conversationId: null,
};

const $ = (id) => document.getElementById(id);
const t = (name) => STRINGS[state.lang][name] || name;

function applyLanguage() {
  document.documentElement.lang = state.lang;
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  $("input").placeholder = t("placeholder");
  $("lang-toggle").textContent = state.lang === "en" ? "ES" : "EN";
  document.querySelectorAll(".rate button").forEach((b) => { b.title = t(b.dataset.kind); });
  const none = $("twin-select").querySelector('option[value=""]');
  if (none) none.textContent = t("noTwin");
}

async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${state.key}`, ...(options.headers || {}) };
  if (options.body) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { ...options, headers });
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
    const twins = await api("/v1/twins");
    state.twins = twins.data;
  } catch (err) {
    state.key = "";
    sessionStorage.removeItem("liquidcare-key");
    $("login-error").textContent = err.status === 401 ? t("badKey") : err.message;
    return;
  }
  sessionStorage.setItem("liquidcare-key", key);
  $("login-error").textContent = "";
  $("login-view").classList.add("hidden");
  $("chat-view").classList.remove("hidden");
  $("logout").classList.remove("hidden");
  fillTwins();
}

function twinName(twin) {
  return twin.name || twin.full_name || `#${twin.id}`;
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
    option.textContent = twinName(twin);
    select.appendChild(option);
  }
  if (state.twins.length) select.value = String(state.twins[0].id);
  selectTwin(select.value);
}

function formatValue(value) {
  if (value === null || value === undefined || value === "") return "—";
  if (Array.isArray(value)) return value.map(formatValue).join("; ");
  if (typeof value === "object") {
    return Object.entries(value).map(([k, v]) => `${k}: ${formatValue(v)}`).join(", ");
  }
  return String(value);
}

const HIDDEN_FIELDS = new Set(["id", "version", "created_at", "updated_at"]);

async function selectTwin(id) {
  state.twinId = id;
  state.conversationId = null;
  $("messages").innerHTML = "";
  const summary = $("twin-summary");
  const timeline = $("timeline");
  summary.innerHTML = "";
  timeline.innerHTML = "";
  const twin = state.twins.find((x) => String(x.id) === id);
  if (!twin) return;
  for (const [field, value] of Object.entries(twin)) {
    if (HIDDEN_FIELDS.has(field)) continue;
    const dt = document.createElement("dt");
    dt.textContent = field.replaceAll("_", " ");
    const dd = document.createElement("dd");
    dd.textContent = formatValue(value);
    summary.append(dt, dd);
  }
  await loadTimeline();
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
    timeline.innerHTML = `<li>${err.status === 403 ? t("noTimeline") : err.message}</li>`;
  }
}

function addMessage(role, text) {
  const li = document.createElement("li");
  li.className = role;
  const body = document.createElement("div");
  body.className = "text";
  body.textContent = text;
  li.appendChild(body);
  $("messages").appendChild(li);
  li.scrollIntoView({ block: "end" });
  return li;
}

function addRating(li, messageId) {
  const bar = document.createElement("div");
  bar.className = "rate";
  for (const [kind, value, label] of [["good", 1, "👍"], ["bad", -1, "👎"]]) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.kind = kind;
    button.dataset.value = String(value);
    button.className = `rate-${kind}`;
    button.title = t(kind);
    button.textContent = label;
    button.addEventListener("click", async () => {
      try {
        await api("/v1/feedback", {
          method: "POST", body: JSON.stringify({ message_id: messageId, value }),
        });
        bar.querySelectorAll("button").forEach((b) => b.classList.remove("chosen"));
        button.classList.add("chosen");
        button.setAttribute("aria-pressed", "true");
      } catch (err) {
        $("chat-error").textContent = err.message;
      }
    });
    bar.appendChild(button);
  }
  li.appendChild(bar);
}

async function send(text) {
  $("chat-error").textContent = "";
  addMessage("user", text);
  const li = addMessage("assistant", "");
  const target = li.querySelector(".text");
  const body = { model: "liquidcare", stream: true, messages: [{ role: "user", content: text }] };
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
    $("chat-error").textContent = message;
    return;
  }
  target.textContent = "";
  let messageId = null;
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
      if (chunk.error) { $("chat-error").textContent = chunk.error.message; continue; }
      if (chunk.conversation_id) state.conversationId = chunk.conversation_id;
      if (chunk.message_id) messageId = chunk.message_id;
      const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta;
      if (delta && delta.content) {
        target.textContent = chunk.replace ? delta.content : target.textContent + delta.content;
        li.scrollIntoView({ block: "end" });
      }
    }
  }
  if (messageId !== null) addRating(li, messageId);
  loadTimeline();
}

document.addEventListener("DOMContentLoaded", () => {
  applyLanguage();
  $("lang-toggle").addEventListener("click", () => {
    state.lang = state.lang === "en" ? "es" : "en";
    localStorage.setItem("liquidcare-lang", state.lang);
    applyLanguage();
  });
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
  $("send-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = $("input").value.trim();
    if (!text) return;
    $("input").value = "";
    $("send").disabled = true;
    try { await send(text); } catch (err) { $("chat-error").textContent = err.message; }
    finally { $("send").disabled = false; }
  });
  $("input").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("send-form").requestSubmit(); }
  });
  if (state.key) login(state.key);
});
