// Throughput and queue depth over time (uPlot), fed one sample per second.
import uPlot from '/vendor/uplot.js';

const WINDOW = 300;

function makeChart(el, series) {
  const width = Math.max(240, el.clientWidth || 400);
  const opts = {
    width,
    height: 160,
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true } },
    axes: [{ stroke: '#8a94a6', grid: { stroke: '#2a3140' } }, { stroke: '#8a94a6', grid: { stroke: '#2a3140' } }],
    series: [{}, ...series],
  };
  return new uPlot(opts, [[], ...series.map(() => [])], el);
}

export function createCharts() {
  const throughputEl = document.getElementById('chart-throughput');
  const depthEl = document.getElementById('chart-depth');
  const throughput = makeChart(throughputEl, [{ label: 'runs/s', stroke: '#2bb673', fill: 'rgba(43,182,115,0.15)', width: 2 }]);
  const depth = makeChart(depthEl, [
    { label: 'waiting', stroke: '#4f8cff', fill: 'rgba(79,140,255,0.15)', width: 2 },
    { label: 'in flight', stroke: '#f5a623', width: 2 },
  ]);
  let samples = [];
  function draw() {
    const xs = samples.map((s) => s.at / 1000);
    throughput.setData([xs, samples.map((s) => s.throughput)]);
    depth.setData([xs, samples.map((s) => s.depth), samples.map((s) => s.inflight)]);
  }
  const resize = () => {
    throughput.setSize({ width: Math.max(240, throughputEl.clientWidth), height: 160 });
    depth.setSize({ width: Math.max(240, depthEl.clientWidth), height: 160 });
  };
  window.addEventListener('resize', resize);
  return {
    reset(list) {
      samples = list.slice(-WINDOW);
      draw();
    },
    add(sample) {
      samples.push(sample);
      if (samples.length > WINDOW) samples.shift();
      draw();
    },
  };
}
