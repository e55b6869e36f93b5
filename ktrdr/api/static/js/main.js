// The dashboard: polls the API, draws each section, and shows every API error it meets.
import { call, initToken } from "./api.js";
import { initCompare, renderCompare } from "./compare.js";
import { renderCycle } from "./cycle.js";
import { renderHoldout, renderTrials, renderWindows } from "./datasets.js";
import { initExperiments, renderExperiments } from "./experiments.js";
import { renderOperations } from "./operations.js";

const FAST_MS = 1500; // the running cycle and operations
const SLOW_EVERY = 4; // experiments, data sets, trials and holdout looks: every 4th tick or on change
const errors = new Map(); // section -> message

function showErrors() {
  const box = document.getElementById("errors");
  box.replaceChildren(...[...errors.entries()].map(([section, message]) =>
    Object.assign(document.createElement("p"), {
      className: "error", textContent: `${section}: ${message}`, title: "click to dismiss",
      onclick: () => { errors.delete(section); showErrors(); },
    })));
}

async function guarded(section, work) {
  try {
    await work();
    errors.delete(section);
  } catch (error) {
    errors.set(section, error.message);
  }
  showErrors();
}

const onError = section => error => { errors.set(section, error.message); showErrors(); };

let tick = 0;
let lastCycleSeen = null;

async function refreshSlow() {
  let windows = [];
  await guarded("data sets", async () => {
    windows = (await call("GET", "/data/windows")).data;
    renderWindows(windows);
  });
  await guarded("experiments", () => renderExperiments(windows, onError("report")));
  await guarded("trials", renderTrials);
  await guarded("holdout looks", renderHoldout);
}

async function refresh(force = false) {
  let status = null;
  await guarded("health", async () => {
    const health = await call("GET", "/health");
    document.getElementById("health").textContent = `v${health.data.version} · store ${health.data.store.ok ? "ok" : "down"}`;
  });
  await guarded("research cycle", async () => {
    status = await call("GET", "/agent/status");
    await renderCycle(status);
  });
  await guarded("operations", () => renderOperations(onError("report")));
  const cycleKey = status ? `${status.operation_id}|${status.phase}|${status.last_cycle?.operation_id}` : null;
  if (force || tick % SLOW_EVERY === 0 || cycleKey !== lastCycleSeen) await refreshSlow();
  lastCycleSeen = cycleKey;
  tick += 1;
}

async function act(section, method, path, body) {
  await guarded(section, () => call(method, path, body));
  await refresh(true);
}

let running = false;
async function poll() {
  if (!running) {
    running = true;
    try { await refresh(); } finally { running = false; }
  }
}

initToken(() => refresh(true));
initCompare();
initExperiments(refreshSlow, ids => guarded("comparison", () => renderCompare(ids)));
document.getElementById("trigger").addEventListener("click", () => act("start", "POST", "/agent/trigger", {}));
document.getElementById("cancel").addEventListener("click", () => act("cancel", "DELETE", "/agent/cancel"));
poll();
setInterval(poll, FAST_MS);
