// Recent operations, each with a link to its report.
import { call, openReport, reportUrl } from "./api.js";
import { cell, el, fill, recent } from "./format.js";

const JOBS = new Set(["training", "backtesting"]);
const TERMINAL = new Set(["completed", "failed", "cancelled"]);

// A cycle has a report in every terminal state; a job only once completed (the others store no artifacts).
function hasReport(op) {
  if (op.operation_type === "agent_research") return TERMINAL.has(op.status);
  return JOBS.has(op.operation_type) && op.status === "completed";
}

function progress(percentage) {
  const value = Math.round(percentage || 0);
  return el("td", { class: "nowrap" }, el("span", { class: "bar" }, el("span", { style: `width:${value}%` })), ` ${value}%`);
}

function report(op, onError) {
  if (!hasReport(op)) return cell(null);
  const link = el("a", { href: reportUrl(op.operation_id), target: "_blank", rel: "noopener", class: "report-link", text: "report",
    onclick: event => { event.preventDefault(); openReport(op.operation_id).catch(onError); } });
  return el("td", {}, link);
}

export async function renderOperations(onError) {
  const operations = await call("GET", "/operations?limit=25");
  fill(document.querySelector("#operations tbody"), operations.data.map(op => el("tr", { "data-id": op.operation_id },
    cell(op.operation_id, "mono"), cell(op.operation_type), cell(op.status, "status " + op.status), progress(op.progress.percentage),
    cell(op.progress.current_step, "wrap"), cell(recent(op.created_at)), report(op, onError), cell(op.error_message, "error-text"))), 8,
    "No operations yet.");
}
