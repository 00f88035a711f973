// Charts (uPlot): the overview's throughput and queue depth, fed one sample
// per second, and a job's finished/failed runs over time. Axis colours come
// from the theme's CSS variables; a chart is redrawn when the system
// switches between light and dark.
import uPlot from '/vendor/uplot.js';

const WINDOW = 300;
const HEIGHT = 160;

function cssVar(name, fallback) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

const scheme = window.matchMedia('(prefers-color-scheme: dark)');

// One sample (or none) would make uPlot span years: show at least a minute; counts start at 0.
function timeRange(_u, min, max) {
  if (min === null || max === null || !Number.isFinite(min)) {
    const now = Date.now() / 1000;
    return [now - 60, now];
  }
  return max - min < 60 ? [max - 60, max] : [min, max];
}
function countRange(_u, _min, max) {
  return [0, Math.max(1, Number.isFinite(max) ? max * 1.1 : 1)];
}

/** A uPlot chart in `el` that keeps its data across theme changes and resizes. */
export function createChart(el, series) {
  let data = [[], ...series.map(() => [])];
  let plot = null;
  const build = () => {
    plot?.destroy();
    const axis = { stroke: cssVar('--muted', '#8a94a6'), grid: { stroke: cssVar('--line', '#2a3140') }, ticks: { stroke: cssVar('--line', '#2a3140') } };
    plot = new uPlot(
      {
        width: Math.max(240, el.clientWidth || 400),
        height: HEIGHT,
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true, range: timeRange }, y: { range: countRange } },
        axes: [axis, axis],
        series: [{}, ...series],
      },
      data,
      el,
    );
  };
  build();
  scheme.addEventListener('change', build);
  return {
    setData(next) {
      data = next;
      plot.setData(data);
    },
    resize() {
      const width = Math.max(240, el.clientWidth || 400);
      if (width !== plot.width) plot.setSize({ width, height: HEIGHT });
    },
    destroy() {
      scheme.removeEventListener('change', build);
      plot?.destroy();
      plot = null;
    },
  };
}

export function createCharts() {
  const throughput = createChart(document.getElementById('chart-throughput'), [{ label: 'runs/s', stroke: '#2bb673', fill: 'rgba(43,182,115,0.15)', width: 2 }]);
  const depth = createChart(document.getElementById('chart-depth'), [
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
    throughput.resize();
    depth.resize();
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
    resize,
  };
}
