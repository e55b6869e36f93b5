// Two experiments side by side: their metrics and statistics, and Sharpe per walk-forward fold.
import { call } from "./api.js";
import { COLORS, empty, groupedBars } from "./charts.js";
import { DASH, badge, el, int, num, pct } from "./format.js";

const ROWS = [
  ["strategy", r => r.strategy_name], ["data set", r => r.data_set ?? "—"], ["designer", r => r.designer],
  ["outcome", r => badge(r.status)], ["verdict", r => badge(r.verdict)], ["verdict reason", r => r.verdict_reason || DASH],
  ["Sharpe (annualised)", r => num(r.sharpe_ratio)], ["total return", r => pct(r.total_return)],
  ["max drawdown", r => pct(r.max_drawdown)], ["win rate", r => pct(r.win_rate)], ["trades", r => int(r.total_trades)],
  ["test accuracy", r => pct(r.test_accuracy)], ["PSR", r => pct(r.psr)], ["DSR", r => pct(r.dsr)],
  ["trials (N)", r => int(r.n_trials)], ["PBO", r => pct(r.pbo)], ["bars", r => int(r.bars)],
  ["min track record (bars)", r => int(r.min_track_record_bars)],
  ["holdout", r => (r.holdout ? badge(r.holdout.verdict) : DASH)],
  ["folds", r => String(r.folds.length)],
];

export function initCompare() {
  document.getElementById("compare-close").addEventListener("click", () => { document.getElementById("compare-section").hidden = true; });
}

export async function renderCompare(ids) {
  const [a, b] = await Promise.all(ids.map(id => call("GET", `/experiments/${encodeURIComponent(id)}`).then(p => p.data)));
  const section = document.getElementById("compare-section");
  section.hidden = false;
  const head = el("tr", {}, el("th", { text: "" }), el("th", { class: "a", text: "A · " + a.strategy_name }), el("th", { class: "b", text: "B · " + b.strategy_name }));
  const body = ROWS.map(([label, show]) => {
    const tr = el("tr", {}, el("th", { scope: "row", text: label }));
    for (const r of [a, b]) { const td = el("td"); td.append(show(r)); tr.append(td); }
    return tr;
  });
  document.getElementById("compare-table").replaceChildren(el("thead", {}, head), el("tbody", {}, ...body));
  const chart = document.getElementById("compare-chart");
  const count = Math.max(a.folds.length, b.folds.length);
  if (!count) { empty(chart, "Neither experiment has walk-forward folds to draw."); return; }
  const categories = Array.from({ length: count }, (_, i) => "fold " + (i + 1));
  const values = r => categories.map((_, i) => r.folds[i]?.sharpe_ratio ?? null);
  groupedBars(chart, {
    title: "Out-of-sample Sharpe per walk-forward fold", xLabel: "fold", yLabel: "Sharpe (annualised)", categories,
    series: [{ label: "A · " + a.strategy_name, color: COLORS.blue, values: values(a) }, { label: "B · " + b.strategy_name, color: COLORS.orange, values: values(b) }],
  });
  section.scrollIntoView({ behavior: "smooth", block: "start" });
}
