// The consent panel: for the user and for the person chosen, what their conversations may be
// used for (GET /v1/consent), with a button per use where the caller may change it (the person
// themself, each user for themself, an admin; a carer only reads the person's).

const SCOPE_KEYS = {
  service: "scopeService",
  research_retraining: "scopeResearch",
  federated: "scopeFederated",
};

export function scopeName(scope, t) { return t(SCOPE_KEYS[scope]); }

function day(iso) { return (iso || "").slice(0, 10); }

function stateText(subject, scope, t) {
  const active = subject.scopes[scope];
  if (active) return `${t("consentGiven")} ${day(active.granted_at)}`;
  const last = subject.history.filter((c) => c.scope === scope).pop();
  if (last && last.withdrawn_at) return `${t("consentWithdrawn")} ${day(last.withdrawn_at)}`;
  return t("consentNotGiven");
}

function subjectBlock(subject, heading, t, onChange) {
  const box = document.createElement("div");
  box.className = "consent-subject";
  const h = document.createElement("h3");
  h.textContent = heading;
  box.appendChild(h);
  const ul = document.createElement("ul");
  for (const scope of Object.keys(SCOPE_KEYS)) {
    const li = document.createElement("li");
    const name = document.createElement("span");
    name.className = "scope-name";
    name.textContent = t(SCOPE_KEYS[scope]);
    li.appendChild(name);
    const state = document.createElement("span");
    state.className = "scope-state";
    state.textContent = stateText(subject, scope, t);
    li.appendChild(state);
    if (subject.may_record) {
      const active = Boolean(subject.scopes[scope]);
      const b = document.createElement("button");
      b.type = "button";
      b.className = active ? "consent-withdraw" : "consent-grant";
      b.dataset.kind = subject.kind;
      b.dataset.id = String(subject.id);
      b.dataset.scope = scope;
      // the visible words start the accessible name; the hidden part says which use it changes
      b.textContent = active ? t("withdrawConsent") : t("giveConsent");
      const which = document.createElement("span");
      which.className = "visually-hidden";
      which.textContent = `: ${t(SCOPE_KEYS[scope])}`;
      b.appendChild(which);
      b.addEventListener("click", () => onChange(subject, scope, !active));
      li.appendChild(b);
    }
    ul.appendChild(li);
  }
  box.appendChild(ul);
  if (!subject.may_record) {
    const p = document.createElement("p");
    p.className = "consent-note";
    p.textContent = t("consentReadOnly");
    box.appendChild(p);
  }
  return box;
}

// Renders the user's own consent and, when one is chosen, the person's. `twinName` names them.
export function renderConsent(container, overview, twinId, twinName, t, onChange) {
  container.innerHTML = "";
  if (!overview) return;
  const mine = overview.find((s) => s.kind === "user");
  if (mine) container.appendChild(subjectBlock(mine, t("yourConsent"), t, onChange));
  const theirs = overview.find((s) => s.kind === "twin" && String(s.id) === twinId);
  if (theirs) {
    const heading = `${t("consentOf")} ${twinName || `#${theirs.id}`}`;
    container.appendChild(subjectBlock(theirs, heading, t, onChange));
  }
}

// The body of POST /v1/consent (grant) or /v1/consent/withdraw for one subject and scope.
export function consentRequest(subject, scope, grant) {
  const body = { scope };
  body[subject.kind === "twin" ? "twin_id" : "user_id"] = subject.id;
  return { path: grant ? "/v1/consent" : "/v1/consent/withdraw", body };
}
