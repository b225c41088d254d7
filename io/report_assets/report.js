// The run report's charts, drawn with uPlot from the data shardnet embedded in the page
// (<script id="report-data" type="application/json">). After drawing, <body> carries
// data-charts and data-points (the points on the charts) for the browser test; a script error
// sets data-error.
"use strict";
window.addEventListener("error", (e) => { document.body.dataset.error = String(e.message); });
const consoleError = console.error;
console.error = (...args) => { document.body.dataset.error = args.join(" "); consoleError(...args); };

const report = JSON.parse(document.getElementById("report-data").textContent);
const palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"];
let totalPoints = 0;

// Series of several runs on one x axis: the union of their x values, null where a series has none.
function aligned(series) {
  const xs = [...new Set(series.flatMap((s) => s.x))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const columns = series.map((s) => {
    const ys = new Array(xs.length).fill(null);
    s.x.forEach((x, i) => { if (s.y[i] !== null) ys[index.get(x)] = s.y[i]; });
    return ys;
  });
  return [xs, ...columns];
}

function chart(title, xLabel, yLabel, series, options = {}) {
  series = series.filter((s) => s.y.some((v) => v !== null));
  if (series.length === 0) return;
  const box = document.createElement("div");
  box.className = "chart";
  document.getElementById("charts").appendChild(box);
  const data = aligned(series);
  totalPoints += data.slice(1).reduce((n, ys) => n + ys.filter((v) => v !== null).length, 0);
  new uPlot({
    title, width: 560, height: 300,
    scales: { x: { time: false }, y: options.log ? { distr: 3 } : {} },
    axes: [{ label: xLabel }, { label: yLabel, size: 60 }],
    series: [{ label: xLabel }, ...series.map((s, i) => ({
      label: s.label, stroke: s.color || palette[i % palette.length], width: 1.5, spanGaps: true,
      points: { show: s.x.length <= 60 },
    }))],
  }, data, box);
}

// One series per run (and per `columns` entry) of a table: {x: table[xColumn], y: table[column]}.
function perRun(table, xColumn, columns, scale = 1) {
  return report.runs.flatMap((run, r) => columns.filter((c) => run[table] && run[table][c]).map((c, i) => ({
    label: (report.runs.length > 1 ? run.name + ": " : "") + c.replaceAll("_", " "),
    x: run[table][xColumn],
    y: run[table][c].map((v) => (v === null ? null : v * scale)),
    color: palette[(r * columns.length + columns.indexOf(c)) % palette.length],
  })));
}

chart("loss per epoch", "epoch", "loss", perRun("epochs", "epoch", ["train_loss", "val_loss", "test_loss"]));
chart("accuracy per epoch", "epoch", "%", perRun("epochs", "epoch", ["train_accuracy", "val_accuracy", "test_accuracy"], 100));
chart("training loss per step (window means)", "step", "loss", perRun("steps", "step", ["loss"]));
// The learning rate per logged step window, or per epoch for runs that logged no steps.
if (report.runs.some((run) => run.steps)) {
  chart("learning rate", "step", "lr", perRun("steps", "step", ["lr"]));
} else {
  chart("learning rate", "epoch", "lr", perRun("epochs", "epoch", ["lr"]));
}
chart("throughput", "epoch", "samples/s", perRun("epochs", "epoch", ["samples_per_second"]));
// The step's phases as shares of the epoch's time (rank 0).
for (const run of report.runs) {
  const e = run.epochs;
  const share = (c) => e[c].map((v, i) => (v === null ? null : 100 * v / e.seconds[i]));
  chart((report.runs.length > 1 ? run.name + ": " : "") + "where the time went (rank 0)", "epoch", "% of the epoch",
        ["data_wait_seconds", "forward_seconds", "backward_seconds", "sync_wait_seconds", "optimizer_seconds"]
          .map((c) => ({ label: c.replace("_seconds", "").replaceAll("_", " "), x: e.epoch, y: share(c) })));
  if (run.ranks) {
    const ranks = [...new Set(run.ranks.rank)].sort((a, b) => a - b);
    chart((report.runs.length > 1 ? run.name + ": " : "") + "allreduce wait per rank", "epoch", "s per epoch",
          ranks.map((k) => {
            const rows = run.ranks.rank.map((r, i) => i).filter((i) => run.ranks.rank[i] === k);
            return { label: "rank " + k, x: rows.map((i) => run.ranks.epoch[i]), y: rows.map((i) => run.ranks.sync_wait_seconds[i]) };
          }));
  }
}

for (const run of report.runs) {
  const section = document.createElement("section");
  const heading = document.createElement("h2");
  heading.textContent = run.name;
  const command = document.createElement("pre");
  command.textContent = run.command || "(no command.txt)";
  const model = document.createElement("pre");
  model.textContent = run.model || "(no model.cfg)";
  section.append(heading, document.createTextNode("command line"), command, document.createTextNode("model"), model);
  document.getElementById("runs").appendChild(section);
}
document.body.dataset.charts = String(document.querySelectorAll(".chart").length);
document.body.dataset.points = String(totalPoints);
