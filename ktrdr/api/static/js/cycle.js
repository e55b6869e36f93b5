// The research cycle: status, the phase timeline (DESIGN §4, §11), live progress and its chart.
import { call } from "./api.js";
import { COLORS, empty, line } from "./charts.js";
import { DASH, badge, duration, el, pct, num } from "./format.js";

const PHASES = [
  { phase: "designing", label: "Design", child: "design_op_id" },
  { phase: "training", label: "Train (walk-forward folds + final model)", child: "training_op_id" },
  { phase: "backtesting", label: "Walk-forward backtest", child: "backtest_op_id" },
  { phase: "assessing", label: "Assess (verdict)", child: "assessment_op_id" },
  { phase: "holdout", label: "Sealed holdout (if promising)", child: null },
];
const samples = new Map(); // cycle id -> [[unix seconds, percentage]] seen while polling

function childPhase(op) {
  const types = { agent_design: "designing", training: "training", agent_assessment: "assessing" };
  if (op.operation_type === "backtesting") {
    return (op.metadata.parameters || {}).mode === "holdout" ? "holdout" : "backtesting";
  }
  return types[op.operation_type];
}

function phaseStates(cycle, children) {
  const byPhase = new Map();
  for (const child of children) {
    const phase = childPhase(child);
    if (phase && !byPhase.has(phase)) byPhase.set(phase, child); // newest first: the latest try
  }
  const current = PHASES.findIndex(p => p.phase === cycle.phase);
  return PHASES.map((p, i) => {
    const child = byPhase.get(p.phase);
    let state = "pending";
    if (cycle.terminal) {
      if (i < current || (i === current && cycle.status === "completed")) state = "done";
      else if (i === current) state = cycle.status; // failed or cancelled here
      else state = "skipped";
    } else if (i < current) state = "done";
    else if (i === current) state = "active";
    if (p.phase === "designing" && !child && (current > 0 || cycle.terminal) && cycle.designer === "user") state = "skipped";
    return { ...p, state, child };
  });
}

function timelineItem(item) {
  const child = item.child;
  let detail = { done: "done", active: "running", pending: "waiting", skipped: "not run", failed: "failed", cancelled: "cancelled" }[item.state];
  if (child && child.started_at) {
    const end = child.completed_at ? Date.parse(child.completed_at) : Date.now();
    detail += " · " + duration((end - Date.parse(child.started_at)) / 1000);
  }
  if (item.state === "active" && child) detail += " · " + Math.round(child.progress.percentage) + "%";
  return el("li", { class: "phase " + item.state, "data-phase": item.phase },
    el("span", { class: "dot", "aria-hidden": "true" }),
    el("span", { class: "phase-label", text: item.label }),
    el("span", { class: "phase-detail", text: detail }));
}

function facts(cycle, children) {
  const step = cycle.progress?.current_step;
  const child = children.find(c => c.status === "running");
  const stats = cycle.statistics || {};
  const rows = [
    ["cycle", cycle.operation_id],
    ["strategy", cycle.strategy_name || DASH],
    ["step", step || DASH],
  ];
  const childStep = child ? `${child.operation_type}: ${child.progress.current_step || DASH}` : null;
  if (childStep && childStep !== step) rows.push(["child step", childStep]);
  if (cycle.terminal) {
    rows.push(["outcome", cycle.status + (cycle.error_message ? " — " + cycle.error_message : "")]);
    rows.push(["verdict", cycle.verdict ? cycle.verdict + (cycle.verdict_reason ? " (" + cycle.verdict_reason + ")" : "") : DASH]);
    if (cycle.holdout) rows.push(["holdout", `${cycle.holdout.verdict} · look ${cycle.holdout.looks ?? DASH}`]);
  }
  if (stats.dsr != null) rows.push(["Sharpe (ann.) · PSR · DSR", `${num(stats.sharpe_annualized)} · ${pct(stats.psr)} · ${pct(stats.dsr)} (${stats.n_trials} trials)`]);
  return rows.flatMap(([key, value]) => [el("dt", { text: key }), el("dd", { text: value })]);
}

function describe(status) {
  if (status.status === "active") {
    const active = status.active_researches[0];
    return { ...active, terminal: false, status: "running" };
  }
  const last = status.last_cycle;
  return last ? { ...last, terminal: true } : null;
}

export async function renderCycle(status) {
  const statusLine = document.getElementById("agent-status");
  const cycle = describe(status);
  document.getElementById("cancel").disabled = status.status !== "active";
  const timeline = document.getElementById("timeline");
  const bar = document.getElementById("cycle-bar");
  const percent = document.getElementById("cycle-percent");
  const chart = document.getElementById("progress-chart");
  if (!cycle) {
    statusLine.replaceChildren("Idle: no research cycle has run yet. Start one with the button.");
    timeline.replaceChildren(...PHASES.map(p => timelineItem({ ...p, state: "pending" })));
    document.getElementById("cycle-facts").replaceChildren();
    bar.style.width = "0%"; percent.textContent = "0%";
    empty(chart, "Progress is drawn while a cycle runs.");
    return;
  }
  const children = (await call("GET", `/operations/${cycle.operation_id}/children`)).data;
  // The operation itself: a finished cycle's last progress (how far it got), and its designer.
  const operation = (await call("GET", `/operations/${cycle.operation_id}`)).data;
  const progress = cycle.terminal ? operation.progress : cycle.progress;
  const percentage = progress?.percentage ?? 0;
  cycle.progress = progress;
  cycle.designer = (operation.metadata.parameters || {}).designer;
  statusLine.replaceChildren(cycle.terminal ? "Last cycle " : "Running ", el("code", { text: cycle.operation_id }), " ",
    cycle.terminal ? badge(cycle.status) : badge("running"), " phase ", el("strong", { text: cycle.phase }));
  timeline.replaceChildren(...phaseStates(cycle, children).map(timelineItem));
  document.getElementById("cycle-facts").replaceChildren(...facts(cycle, children));
  bar.style.width = (percentage ?? 0) + "%";
  bar.className = cycle.terminal ? cycle.status : "running";
  percent.textContent = Math.round(percentage) + "%";
  if (!cycle.terminal && cycle.started_at) {
    const seen = samples.get(cycle.operation_id) || [];
    seen.push([Math.round((Date.now() - Date.parse(cycle.started_at)) / 100) / 10, percentage]);
    samples.set(cycle.operation_id, seen);
  }
  const points = samples.get(cycle.operation_id) || [];
  if (points.length >= 2) {
    line(chart, {
      title: "Cycle progress (sampled while this page watched)", xLabel: "seconds since the cycle started",
      yLabel: "progress (%)", label: "progress %", color: COLORS.blue, points, range: [0, 100],
    });
  } else {
    empty(chart, cycle.terminal ? "Progress is drawn while a cycle runs." : "Collecting progress…");
  }
}
