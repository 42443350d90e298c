// A run's history charts: one uPlot line chart per numeric metric, x = the step. Each chart's
// container carries the number of points it plots (data-points), for tests.
"use strict";

(function () {
  const source = document.getElementById("history");
  const holder = document.getElementById("charts");
  if (!source || !holder) return;
  const metrics = JSON.parse(source.textContent);
  for (const name of Object.keys(metrics).sort()) {
    const [steps, values] = metrics[name];
    const box = document.createElement("div");
    box.className = "chart";
    box.dataset.metric = name;
    box.dataset.points = String(values.length);
    const title = document.createElement("h3");
    title.textContent = name;
    box.appendChild(title);
    holder.appendChild(box);
    const opts = {
      width: 440, height: 220,
      scales: { x: { time: false } },
      series: [{ label: "step" }, { label: name, stroke: "#2f6f4f", width: 2 }],
      legend: { show: true },
    };
    new uPlot(opts, [steps, values], box);
  }
})();
