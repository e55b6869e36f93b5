// Data sets with their research/holdout windows, the trials every statistic counts, holdout looks.
import { call } from "./api.js";
import { COLORS, empty, scatterOverTime } from "./charts.js";
import { DASH, badge, cell, day, el, fill, int, num, pct, recent, seconds, when } from "./format.js";

const TRIAL_COLORS = [COLORS.blue, COLORS.orange, COLORS.green, COLORS.red, COLORS.grey, COLORS.amber];

function split(window) {
  const start = Date.parse(window.research_start);
  const holdout = Date.parse(window.holdout_start);
  const end = Date.parse(window.holdout_end || window.research_end);
  const share = end > start ? Math.min(100, Math.max(0, ((holdout - start) / (end - start)) * 100)) : 100;
  return el("td", { class: "split-col" },
    el("div", { class: "split", title: `research ${share.toFixed(0)}% · holdout ${(100 - share).toFixed(0)}% of the span` },
      el("span", { class: "research", style: `width:${share}%` }), el("span", { class: "sealed", style: `width:${100 - share}%` })));
}

export function renderWindows(windows) {
  fill(document.querySelector("#datasets tbody"), windows.map(w => el("tr", { "data-set": `${w.symbol} ${w.timeframe}` },
    cell(`${w.symbol} ${w.timeframe}`, "strong"), cell(`${day(w.research_start)} → ${day(w.research_end)}`),
    cell(day(w.holdout_start)), split(w), cell(int(w.holdout_looks), "num"), cell(int(w.n_trials), "num"),
    cell(w.trials_sharpe_variance == null ? DASH : w.trials_sharpe_variance.toExponential(2), "num"),
    cell(pct(w.pbo), "num"), cell(when(w.frozen_at)))), 9,
    "No data set has been used yet: its window is frozen the first time a cycle trains on it.");
}

export async function renderTrials() {
  const page = await call("GET", "/trials?limit=500");
  document.getElementById("trials-count").textContent = `(${page.total_count})`;
  fill(document.querySelector("#trials tbody"), page.data.slice(0, 25).map(t => el("tr", {},
    cell(recent(t.completed_at)), cell(t.strategy_name), cell(`${t.symbol} ${t.timeframe}`),
    cell(num(t.sharpe, 4), "num"), cell(int(t.n_obs), "num"), cell(int(t.trades), "num"))), 6,
    "No trials yet: each walk-forward backtest of a research window is one.");
  const chart = document.getElementById("trials-chart");
  const drawn = page.data.filter(t => t.sharpe != null);
  if (!drawn.length) { empty(chart, "Trial Sharpe ratios are drawn once a walk-forward backtest has run."); return; }
  const sets = [...new Set(drawn.map(t => `${t.symbol} ${t.timeframe}`))];
  scatterOverTime(chart, {
    title: "Sharpe per bar of every trial (what DSR deflates against)", yLabel: "Sharpe per bar", height: 220,
    series: sets.map((name, i) => ({ label: name, color: TRIAL_COLORS[i % TRIAL_COLORS.length],
      points: drawn.filter(t => `${t.symbol} ${t.timeframe}` === name).map(t => [seconds(t.completed_at), t.sharpe]) })),
  });
}

export async function renderHoldout() {
  const looks = (await call("GET", "/holdout/evaluations")).data;
  fill(document.querySelector("#holdout tbody"), looks.map(look => {
    const result = look.result || {};
    const verdict = result.verdict ? badge(result.verdict) : badge(look.status);
    const td = el("td"); td.append(verdict);
    return el("tr", { title: result.reason || look.error || "" },
      cell(recent(look.created_at)), cell(look.strategy_name), cell(`${look.symbol} ${look.timeframe}`), cell(int(look.look), "num"),
      td, cell(num((result.metrics || {}).sharpe_ratio), "num"), cell(int((result.metrics || {}).total_trades), "num"));
  }), 7, "No look at a sealed holdout yet: only promising models meet it, once each.");
}
