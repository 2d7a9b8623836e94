// The twin panel, written for people: "Furosemida 40 mg — 08:00, 20:00", lists, not field dumps.

function item(list, text) {
  const li = document.createElement("li");
  li.textContent = text;
  list.appendChild(li);
}

function section(container, heading, values) {
  const h = document.createElement("h3");
  h.textContent = heading;
  container.appendChild(h);
  if (typeof values === "string") {
    const p = document.createElement("p");
    p.textContent = values;
    container.appendChild(p);
    return;
  }
  const ul = document.createElement("ul");
  for (const value of values) item(ul, value);
  container.appendChild(ul);
}

export function medicineLine(m) {
  const head = [m.name, m.dose].filter(Boolean).join(" ");
  const times = (m.schedule || m.times || []).join(", ");
  const line = times ? `${head} — ${times}` : head;
  return m.notes ? `${line} (${m.notes})` : line;
}

export function contactLine(c) {
  const extra = [c.relation, c.phone].filter(Boolean).join(", ");
  return extra ? `${c.name} (${extra})` : c.name;
}

export function renderTwin(container, twin, t) {
  container.innerHTML = "";
  if (!twin) return;
  const name = document.createElement("p");
  name.className = "twin-name";
  name.textContent = twin.age != null ? `${twin.name}, ${twin.age} ${t("years")}` : twin.name;
  container.appendChild(name);
  const meds = twin.medications || [];
  section(container, t("medications"), meds.length ? meds.map(medicineLine) : [t("noneListed")]);
  const conditions = twin.conditions || [];
  section(container, t("conditions"), conditions.length ? conditions : [t("noneListed")]);
  if ((twin.routines || []).length) section(container, t("routines"), twin.routines);
  if ((twin.preferences || []).length) section(container, t("preferences"), twin.preferences);
  if ((twin.carers || []).length) section(container, t("carers"), twin.carers.map(contactLine));
  if (twin.emergency_contact) {
    section(container, t("emergency"), contactLine(twin.emergency_contact));
  }
  if (twin.notes) section(container, t("notes"), twin.notes);
  const names = t("langName");
  section(container, t("language"), names[twin.language] || twin.language);
}
