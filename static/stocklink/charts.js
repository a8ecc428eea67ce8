// Small SVG charts from JSON data blocks (json_script): no inline script, no library.
// <div class="bar-chart" data-source="ID">   [{label, done, failed}, ...] as stacked bars
// <div class="line-chart" data-source="ID">  {series: [{name, key, points: [[ms, value], ...]}],
//                                              marks: [{at: ms, kind, label}]} as step lines
(function () {
  const NS = "http://www.w3.org/2000/svg";
  function el(name, attrs, parent) {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  }
  function data(box) {
    const source = document.getElementById(box.dataset.source);
    return source ? JSON.parse(source.textContent) : null;
  }
  function svgFor(box, width, height) {
    const svg = el("svg", {viewBox: `0 0 ${width} ${height}`, role: "img", class: "chart-svg"});
    if (box.dataset.label) svg.setAttribute("aria-label", box.dataset.label);
    box.replaceChildren(svg);
    return svg;
  }
  function barChart(box) {
    const rows = data(box) || [];
    const W = 480, H = 160, pad = 24;
    const svg = svgFor(box, W, H);
    const top = Math.max(1, ...rows.map((r) => r.done + r.failed));
    const step = (W - pad) / Math.max(rows.length, 1);
    el("text", {x: 0, y: 10, class: "chart-axis"}, svg).textContent = String(top);
    rows.forEach((row, i) => {
      const x = pad + i * step;
      const hDone = ((H - pad) * row.done) / top;
      const hFailed = ((H - pad) * row.failed) / top;
      const done = el("rect", {x, y: H - pad - hDone, width: Math.max(step - 2, 1), height: hDone, class: "bar-done"}, svg);
      el("title", {}, done).textContent = `${row.label}: ${row.done} confirmed, ${row.failed} failed`;
      el("rect", {x, y: H - pad - hDone - hFailed, width: Math.max(step - 2, 1), height: hFailed, class: "bar-failed"}, svg);
      if (i % Math.ceil(rows.length / 6) === 0) {
        el("text", {x, y: H - 6, class: "chart-axis"}, svg).textContent = row.label;
      }
    });
    box.dataset.drawn = String(rows.length);
  }
  function lineChart(box) {
    const chart = data(box) || {series: [], marks: []};
    const W = 720, H = 220, pad = 30;
    const svg = svgFor(box, W, H);
    const all = chart.series.flatMap((s) => s.points);
    const times = all.map((p) => p[0]).concat(chart.marks.map((m) => m.at));
    if (!times.length) { box.dataset.drawn = "0"; box.textContent = "No history yet."; return; }
    const t0 = Math.min(...times), t1 = Math.max(...times, t0 + 1);
    const top = Math.max(1, ...all.map((p) => p[1]));
    // A little room after the last moment, so a change at "now" shows as a step, not the edge.
    const x = (t) => pad + ((W - 2 * pad) * (t - t0)) / ((t1 - t0) * 1.03);
    const y = (v) => H - pad - ((H - 2 * pad) * v) / top;
    el("text", {x: 0, y: pad, class: "chart-axis"}, svg).textContent = String(top);
    el("text", {x: 0, y: H - pad, class: "chart-axis"}, svg).textContent = "0";
    chart.marks.forEach((m) => {
      const line = el("line", {x1: x(m.at), x2: x(m.at), y1: pad / 2, y2: H - pad, class: `mark mark-${m.kind}`}, svg);
      el("title", {}, line).textContent = m.label;
    });
    chart.series.forEach((s) => {
      if (!s.points.length) return;
      let d = `M${x(s.points[0][0])},${y(s.points[0][1])}`;
      for (let i = 1; i < s.points.length; i++) {
        d += ` H${x(s.points[i][0])} V${y(s.points[i][1])}`;
      }
      d += ` H${x(t1)}`;
      const path = el("path", {d, class: `line line-${s.key}`}, svg);
      el("title", {}, path).textContent = s.name;
    });
    el("text", {x: pad, y: H - 6, class: "chart-axis"}, svg).textContent = new Date(t0).toLocaleString();
    el("text", {x: x(t1), y: H - 6, class: "chart-axis chart-axis-end"}, svg).textContent = new Date(t1).toLocaleString();
    box.dataset.drawn = String(all.length + chart.marks.length);
  }
  document.querySelectorAll(".bar-chart").forEach(barChart);
  document.querySelectorAll(".line-chart").forEach(lineChart);
})();
