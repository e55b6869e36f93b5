// Calls to the ktrdr API with the token typed into the page (kept in localStorage).
export const API = "/api/v1";
const TOKEN_KEY = "ktrdr-token";
const BLOB_LIFETIME_MS = 60_000; // long enough for the tab to load the report
const tokenInput = () => document.getElementById("token");

export function initToken(onChange) {
  const input = tokenInput();
  input.value = localStorage.getItem(TOKEN_KEY) || "";
  input.addEventListener("change", () => {
    localStorage.setItem(TOKEN_KEY, input.value);
    onChange();
  });
}

function authHeaders() {
  const token = tokenInput().value;
  return token ? { Authorization: "Bearer " + token } : {};
}

async function errorMessage(response) {
  try {
    const payload = await response.json();
    if (payload.error && payload.error.message) return payload.error.message;
  } catch (_) { /* not JSON: fall back to the status line */ }
  return `${response.status} ${response.statusText}`;
}

export async function call(method, path, body) {
  const headers = { "Content-Type": "application/json", ...authHeaders() };
  const response = await fetch(API + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  if (!response.ok) throw new Error(`${method} ${path}: ${await errorMessage(response)}`);
  return response.json();
}

export function reportUrl(operationId) {
  return `${API}/operations/${encodeURIComponent(operationId)}/report`;
}

// A report in a new tab: a plain link without a token; with one, the page fetches the report
// with the Bearer header and shows it from a Blob URL (a link cannot carry the header).
export async function openReport(operationId) {
  if (!tokenInput().value) {
    window.open(reportUrl(operationId), "_blank");
    return;
  }
  const tab = window.open("about:blank", "_blank");
  try {
    const response = await fetch(reportUrl(operationId), { headers: authHeaders() });
    if (!response.ok) throw new Error(`report of ${operationId}: ${await errorMessage(response)}`);
    const blob = new Blob([await response.text()], { type: "text/html" });
    const url = URL.createObjectURL(blob);
    tab.location.href = url;
    setTimeout(() => URL.revokeObjectURL(url), BLOB_LIFETIME_MS);
  } catch (error) {
    tab.close();
    throw error;
  }
}
