// The experiments table: sort by column, filter by verdict and data set, tick two to compare.
import { call, openReport } from "./api.js";
import { COLORS, empty, scatterOverTime } from "./charts.js";
import { badge, el, fill, int, num, pct, recent, seconds } from "./format.js";

const COLUMNS = [
  { key: "created_at", label: "created (UTC)", show: r => recent(r.created_at) },
  { key: "strategy_name", label: "strategy", show: r => r.strategy_name ?? "—" },
  { key: "data_set", label: "data set", show: r => r.data_set ?? "—" },
  { key: "status", label: "outcome", show: r => badge(r.status) },
  { key: "verdict", label: "verdict", show: r => badge(r.verdict), title: "research-window verdict" },
  { key: "sharpe_ratio", label: "Sharpe", num: true, show: r => num(r.sharpe_ratio), title: "stitched out-of-sample Sharpe, annualised" },
  { key: "total_return", label: "return", num: true, show: r => pct(r.total_return) },
  { key: "max_drawdown", label: "max DD", num: true, show: r => pct(r.max_drawdown) },
  { key: "total_trades", label: "trades", num: true, show: r => int(r.total_trades) },
  { key: "psr", label: "PSR", num: true, show: r => pct(r.psr), title: "probabilistic Sharpe ratio (vs 0)" },
  { key: "dsr", label: "DSR", num: true, show: r => pct(r.dsr), title: "deflated Sharpe ratio (vs the best of N noise trials)" },
  { key: "n_trials", label: "trials", num: true, show: r => int(r.n_trials), title: "trials of the data set when judged" },
  { key: "pbo", label: "PBO", num: true, show: r => pct(r.pbo), title: "probability of backtest overfitting" },
  { key: "holdout_verdict", label: "holdout", cls: "gap", show: r => badge(r.holdout_verdict), title: "sealed holdout verdict (promising cycles only)" },
];
const VERDICT_COLORS = { promising: COLORS.green, neutral: COLORS.blue, poor: COLORS.red, none: COLORS.grey };
const state = { sort: "-created_at", picked: [], rows: [], dataSets: new Set() };
let onCompare = () => {};

// A first click sorts descending (largest Sharpe first), the next ascending.
function sortBy(key, refresh) {
  state.sort = state.sort === "-" + key ? key : "-" + key;
  refresh();
}

export function initExperiments(refresh, compare) {
  onCompare = compare;
  document.getElementById("experiments-head").replaceChildren(
    el("th", { class: "pick", text: "pick", title: "tick two experiments to compare them" }),
    ...COLUMNS.map(c => el("th", { class: "sortable" + (c.num ? " num" : "") + (c.cls ? " " + c.cls : ""), "data-key": c.key, title: c.title, tabindex: "0",
      onclick: () => sortBy(c.key, refresh), onkeydown: e => { if (e.key === "Enter") sortBy(c.key, refresh); } }, c.label)),
    el("th", { text: "report" }));
  document.getElementById("filter-verdict").addEventListener("change", refresh);
  document.getElementById("filter-dataset").addEventListener("change", refresh);
  document.getElementById("compare-button").addEventListener("click", () => onCompare(state.picked.slice()));
}

function query() {
  const params = new URLSearchParams({ sort: state.sort, limit: "200" });
  const verdict = document.getElementById("filter-verdict").value;
  const dataSet = document.getElementById("filter-dataset").value;
  if (verdict) params.set("verdict", verdict);
  if (dataSet) params.set("data_set", dataSet);
  return params;
}

function pick(id, checked) {
  state.picked = state.picked.filter(p => p !== id);
  if (checked) state.picked.push(id);
  if (state.picked.length > 2) state.picked.shift();
  for (const box of document.querySelectorAll("#experiments input.pick")) box.checked = state.picked.includes(box.value);
  const button = document.getElementById("compare-button");
  button.disabled = state.picked.length !== 2;
  button.textContent = state.picked.length === 2 ? "Compare the 2 ticked" : `Tick 2 to compare (${state.picked.length}/2)`;
}

function row(r, onError) {
  const box = el("input", { type: "checkbox", class: "pick", value: r.experiment_id, "aria-label": "compare " + r.strategy_name,
    onchange: e => pick(r.experiment_id, e.target.checked) });
  box.checked = state.picked.includes(r.experiment_id);
  const report = el("button", { class: "link", text: "report", title: "open this cycle's report",
    onclick: () => openReport(r.experiment_id).catch(onError) });
  return el("tr", { "data-id": r.experiment_id, "data-verdict": r.verdict || "none" },
    el("td", { class: "pick" }, box),
    ...COLUMNS.map(c => { const td = el("td", { class: [c.num ? "num" : "", c.cls || ""].join(" ").trim() || null }); td.append(c.show(r)); return td; }),
    el("td", {}, report));
}

function updateDataSets(dataSets) {
  const select = document.getElementById("filter-dataset");
  const known = new Set([...select.options].map(o => o.value));
  for (const name of dataSets) if (name && !known.has(name)) select.append(el("option", { value: name, text: name }));
}

export async function renderExperiments(windows, onError) {
  updateDataSets(windows.map(w => `${w.symbol} ${w.timeframe}`));
  const page = await call("GET", "/experiments?" + query().toString());
  state.rows = page.data;
  updateDataSets(page.data.map(r => r.data_set));
  document.getElementById("experiments-count").textContent = `(${page.data.length} of ${page.total_count} shown)`;
  for (const th of document.querySelectorAll("#experiments-head th.sortable")) {
    const key = th.dataset.key;
    th.setAttribute("aria-sort", state.sort === key ? "ascending" : state.sort === "-" + key ? "descending" : "none");
  }
  fill(document.querySelector("#experiments tbody"), page.data.map(r => row(r, onError)), COLUMNS.length + 2,
    "No experiments match. Each finished research cycle adds one.");
  pick(null, false);
  const chart = document.getElementById("experiments-chart");
  const plotted = page.data.filter(r => r.sharpe_ratio != null);
  if (!plotted.length) { empty(chart, "Sharpe ratios are drawn once a cycle has backtested."); return; }
  const groups = ["promising", "neutral", "poor", "none"].map(verdict => ({
    label: verdict === "none" ? "no verdict" : verdict, color: VERDICT_COLORS[verdict],
    points: plotted.filter(r => (r.verdict || "none") === verdict).map(r => [seconds(r.created_at), r.sharpe_ratio]),
  })).filter(g => g.points.length);
  scatterOverTime(chart, { title: "Out-of-sample Sharpe (annualised) of each experiment, by verdict", yLabel: "Sharpe (annualised)", series: groups });
}

export function experimentRows() { return state.rows; }
