// Small DOM and number helpers shared by the dashboard's sections.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  node.append(...children.filter(child => child != null));
  return node;
}

export const DASH = "—";

export function num(value, digits = 2) {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : DASH;
}

export function pct(value, digits = 1) {
  return typeof value === "number" && Number.isFinite(value) ? (value * 100).toFixed(digits) + "%" : DASH;
}

export function int(value) {
  return typeof value === "number" && Number.isFinite(value) ? String(Math.round(value)) : DASH;
}

export function when(iso) {
  return iso ? iso.replace("T", " ").slice(0, 16) : DASH;
}

// Month, day and time only: for the newest rows of a table, where the year is this year's.
export function recent(iso) {
  return iso ? iso.replace("T", " ").slice(5, 16) : DASH;
}

export function day(iso) {
  return iso ? iso.slice(0, 10) : DASH;
}

export function seconds(iso) {
  return iso ? Date.parse(iso) / 1000 : null;
}

export function duration(totalSeconds) {
  if (totalSeconds == null || !Number.isFinite(totalSeconds)) return DASH;
  const s = Math.max(0, Math.round(totalSeconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function cell(text, cls) {
  return el("td", { class: cls, text: text == null ? DASH : String(text) });
}

export function badge(value) {
  return value ? el("span", { class: "badge " + value, text: value.replace("_", " ") }) : DASH;
}

export function fill(tbody, rows, columns, emptyText) {
  if (!rows.length) {
    tbody.replaceChildren(el("tr", {}, el("td", { class: "empty", colspan: String(columns), text: emptyText })));
    return;
  }
  tbody.replaceChildren(...rows);
}
