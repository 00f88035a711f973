/**
 * A strict parser of the Prometheus text exposition format 0.0.4, for
 * tests of what a scraper reads: it throws on anything Prometheus would
 * refuse or that a careful exporter never emits — bad names, labels or
 * escapes, a sample before (or without) its family's TYPE, a family split
 * in two, a repeated series, histogram buckets that are not cumulative or
 * lack +Inf, _count disagreeing with the +Inf bucket, no final newline.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  /** The sample's own name (e.g. `x_bucket` in histogram `x`). */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help?: string;
  samples: Sample[];
}

export class PrometheusParseError extends Error {
  override readonly name = 'PrometheusParseError';
  readonly code = 'PROMETHEUS_PARSE';
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const FLOAT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function parseValue(text: string, where: string): number {
  if (text === 'NaN') return NaN;
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (!FLOAT.test(text)) throw new PrometheusParseError(`${where}: '${text}' is not a sample value`);
  return Number(text);
}

function unescape(text: string, allowQuote: boolean, where: string): string {
  return text.replace(/\\(.)/g, (_m, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    if (c === '"' && allowQuote) return '"';
    throw new PrometheusParseError(`${where}: bad escape \\${c}`);
  });
}

/** `{a="x",b="y"}` starting at `text[0] === '{'`; returns the labels and what follows the `}`. */
function parseLabels(text: string, where: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1;
  for (;;) {
    while (text[i] === ' ') i++;
    if (text[i] === '}') return { labels, rest: text.slice(i + 1) };
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new PrometheusParseError(`${where}: unterminated labels`);
    const name = text.slice(i, eq).trim();
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new PrometheusParseError(`${where}: bad label name '${name}'`);
    if (name in labels) throw new PrometheusParseError(`${where}: label ${name} given twice`);
    if (text[eq + 1] !== '"') throw new PrometheusParseError(`${where}: label ${name} value is not quoted`);
    let j = eq + 2;
    let raw = '';
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === '\\') raw += text[j++];
      raw += text[j];
    }
    if (j >= text.length) throw new PrometheusParseError(`${where}: unterminated value of label ${name}`);
    labels[name] = unescape(raw, true, where);
    i = j + 1;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new PrometheusParseError(`${where}: expected , or } after label ${name}`);
  }
}

function familyOf(sampleName: string, families: Map<string, MetricFamily>): MetricFamily | undefined {
  const own = families.get(sampleName);
  if (own) return own;
  const m = /^(.*)_(bucket|sum|count)$/.exec(sampleName);
  const base = m ? families.get(m[1] as string) : undefined;
  if (base && (base.type === 'histogram' || (base.type === 'summary' && m?.[2] !== 'bucket'))) return base;
  return undefined;
}

function seriesKey(s: Sample): string {
  return s.name + JSON.stringify(Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function checkHistogram(f: MetricFamily): void {
  const groups = new Map<string, Sample[]>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    if (s.name === `${f.name}_bucket` && le === undefined) throw new PrometheusParseError(`${f.name}: a bucket without le`);
    if (s.name === f.name) throw new PrometheusParseError(`${f.name}: a histogram has no plain sample`);
    const key = JSON.stringify(Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : 1)));
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  for (const [key, samples] of groups) {
    const buckets = samples.filter((s) => s.name === `${f.name}_bucket`);
    let last = -Infinity;
    let lastCount = 0;
    for (const b of buckets) {
      const le = parseValue(b.labels['le'] as string, `${f.name} le`);
      if (le <= last) throw new PrometheusParseError(`${f.name}${key}: buckets out of order`);
      if (b.value < lastCount) throw new PrometheusParseError(`${f.name}${key}: buckets not cumulative`);
      last = le;
      lastCount = b.value;
    }
    if (last !== Infinity) throw new PrometheusParseError(`${f.name}${key}: no +Inf bucket`);
    const count = samples.find((s) => s.name === `${f.name}_count`);
    if (!count || !samples.some((s) => s.name === `${f.name}_sum`)) throw new PrometheusParseError(`${f.name}${key}: _sum or _count missing`);
    if (count.value !== lastCount) throw new PrometheusParseError(`${f.name}${key}: _count ${count.value} is not the +Inf bucket ${lastCount}`);
  }
}

export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  if (text.length > 0 && !text.endsWith('\n')) throw new PrometheusParseError('the exposition must end with a newline');
  const families = new Map<string, MetricFamily>();
  const series = new Set<string>();
  const closed = new Set<string>();
  const typed = new Set<string>();
  let current: MetricFamily | undefined;
  const lines = text.split('\n').slice(0, -1);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n] as string;
    const where = `line ${n + 1}`;
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!m) continue; // a plain comment
      const [, kind, name, rest = ''] = m as unknown as [string, string, string, string | undefined];
      if (!METRIC_NAME.test(name)) throw new PrometheusParseError(`${where}: bad metric name '${name}'`);
      if (closed.has(name) || (current && current.name !== name && families.has(name))) throw new PrometheusParseError(`${where}: family ${name} appears twice`);
      if (current && current.name !== name) closed.add(current.name);
      let f = families.get(name);
      if (!f) {
        f = { name, type: 'untyped', samples: [] };
        families.set(name, f);
      }
      current = f;
      if (kind === 'HELP') {
        if (f.help !== undefined) throw new PrometheusParseError(`${where}: second HELP for ${name}`);
        f.help = unescape(rest, false, where);
      } else {
        const type = rest.trim() as MetricType;
        if (!TYPES.has(type)) throw new PrometheusParseError(`${where}: unknown type '${rest}'`);
        if (f.samples.length > 0) throw new PrometheusParseError(`${where}: TYPE of ${name} after its samples`);
        if (typed.has(name)) throw new PrometheusParseError(`${where}: second TYPE for ${name}`);
        typed.add(name);
        f.type = type;
      }
      continue;
    }
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!nameMatch) throw new PrometheusParseError(`${where}: not a sample: '${line}'`);
    const name = nameMatch[0];
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, where));
    const parts = rest.trim().split(/\s+/);
    if (!/^\s/.test(rest) || parts.length < 1 || parts.length > 2) throw new PrometheusParseError(`${where}: expected 'value [timestamp]' after ${name}`);
    const value = parseValue(parts[0] as string, where);
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new PrometheusParseError(`${where}: bad timestamp '${parts[1]}'`);
    const family = familyOf(name, families);
    if (!family || !typed.has(family.name)) throw new PrometheusParseError(`${where}: sample ${name} has no TYPE before it`);
    if (family !== current) throw new PrometheusParseError(`${where}: sample ${name} is apart from its family ${family.name}`);
    const sample: Sample = { name, labels, value };
    const key = seriesKey(sample);
    if (series.has(key)) throw new PrometheusParseError(`${where}: series ${name}${JSON.stringify(labels)} repeated`);
    series.add(key);
    family.samples.push(sample);
  }
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

/** The one sample of `name` whose labels include `labels` (throws when none or several match). */
export function sampleValue(families: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}): number {
  const matches = [...families.values()].flatMap((f) => f.samples).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (matches.length !== 1) throw new Error(`${matches.length} samples of ${name}${JSON.stringify(labels)}`);
  return (matches[0] as Sample).value;
}
