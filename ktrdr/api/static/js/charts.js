// uPlot charts (vendored under /static/vendor/uplot): one place that styles them alike.
const uPlot = window.uPlot;
export const COLORS = { blue: "#2563eb", orange: "#ea580c", green: "#15803d", red: "#b91c1c", grey: "#6b7280", amber: "#b45309" };
const FONT = "12px system-ui, -apple-system, 'Segoe UI', sans-serif";
const LABEL_FONT = "bold 12px system-ui, -apple-system, 'Segoe UI', sans-serif";
const drawn = new WeakMap();
const BAR_GROUP = 0.7; // the share of a category's width its bars fill

function axis(label, extra = {}) {
  return { label, font: FONT, labelFont: LABEL_FONT, stroke: "#374151", grid: { stroke: "#eef0f4" }, ticks: { stroke: "#d1d5db" }, ...extra };
}

function utc(ts) {
  return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC");
}

function size(target, height) {
  return { width: Math.max(280, target.clientWidth - 4), height };
}

// Draw into ``target`` unless the same data is already drawn there (polling redraws nothing).
// The canvas is a picture: the container's aria-label says what it shows and what its axes are.
function draw(target, key, build, { title, xLabel, yLabel }) {
  target.setAttribute("role", "img");
  target.setAttribute("aria-label", `${title} (x: ${xLabel}; y: ${yLabel})`);
  if (drawn.get(target)?.key === key && target.querySelector("canvas")) return;
  drawn.get(target)?.chart.destroy();
  target.replaceChildren();
  drawn.set(target, { key, chart: build() });
}

export function empty(target, text) {
  target.removeAttribute("role");
  target.setAttribute("aria-label", text);
  drawn.get(target)?.chart.destroy();
  drawn.delete(target);
  target.replaceChildren(Object.assign(document.createElement("p"), { className: "chart-empty", textContent: text }));
}

// Points over UTC time, one series per entry of ``series``: {label, color, points: [[t, y]]}.
export function scatterOverTime(target, { title, yLabel, series, height = 240 }) {
  const times = [...new Set(series.flatMap(s => s.points.map(p => p[0])))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const columns = series.map(s => {
    const column = new Array(times.length).fill(null);
    for (const [t, y] of s.points) column[index.get(t)] = y;
    return column;
  });
  const data = [times, ...columns];
  draw(target, JSON.stringify([title, data]), () => new uPlot({
    title, ...size(target, height), tzDate: utc,
    scales: { x: { time: true } },
    axes: [axis("time (UTC)"), axis(yLabel, { size: 56 })],
    legend: { show: true },
    cursor: { points: { size: 8 } },
    series: [{ label: "time" }, ...series.map(s => ({
      label: s.label, stroke: s.color, width: 0, spanGaps: false,
      paths: () => null, points: { show: true, size: 8, fill: s.color, stroke: s.color },
    }))],
  }, data, target), { title, xLabel: "time (UTC)", yLabel });
}

// A line over a numeric x: ``points`` [[x, y]], y fixed to ``range`` when given.
export function line(target, { title, xLabel, yLabel, label, color, points, range, height = 200 }) {
  const data = [points.map(p => p[0]), points.map(p => p[1])];
  draw(target, JSON.stringify([title, data]), () => new uPlot({
    title, ...size(target, height),
    scales: { x: { time: false }, y: range ? { range: () => range } : {} },
    axes: [axis(xLabel), axis(yLabel, { size: 56 })],
    legend: { show: false },
    series: [{ label: xLabel }, { label, stroke: color, width: 2, fill: color + "22", points: { show: true, size: 5 } }],
  }, data, target), { title, xLabel, yLabel });
}

// Grouped bars over categories 1..n: ``series`` [{label, color, values}], ``xLabel`` names them.
export function groupedBars(target, { title, xLabel, yLabel, categories, series, height = 260 }) {
  const xs = categories.map((_, i) => i + 1);
  const data = [xs, ...series.map(s => s.values.map(v => (Number.isFinite(v) ? v : null)))];
  const groups = series.length;
  draw(target, JSON.stringify([title, categories, data]), () => new uPlot({
    title, ...size(target, height),
    scales: { x: { time: false, range: [0.4, xs.length + 0.6] } },
    axes: [
      axis(xLabel, { values: (_, ticks) => ticks.map(t => categories[t - 1] ?? ""), splits: () => xs }),
      axis(yLabel, { size: 56 }),
    ],
    series: [{ label: xLabel }, ...series.map((s, i) => ({
      label: s.label, stroke: s.color, fill: s.color + "cc", width: 1,
      paths: uPlot.paths.bars({
        disp: {
          x0: { unit: 1, values: () => xs.map(x => x - BAR_GROUP / 2 + i * (BAR_GROUP / groups)) },
          size: { unit: 1, values: () => [BAR_GROUP / groups] },
        },
      }),
      points: { show: false },
    }))],
  }, data, target), { title, xLabel, yLabel });
}
