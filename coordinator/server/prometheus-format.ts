/**
 * `mntr` rows in the Prometheus text exposition format (0.0.4), named as
 * ZooKeeper 3.6+'s PrometheusMetricsProvider names them: the mntr key
 * without `zk_` (znode_count, avg_latency, ...), each a gauge. Text rows
 * become a gauge of 1 with the text as a label, since a sample is a number:
 * zk_version as ZooKeeper's own `zk_version_info{version,built_on}`, the
 * others (server_state, peer_state) as `<name>{state="..."}`. Pure.
 */

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const NUMBER = /^-?\d+(\.\d+)?$/;
const NAME_INVALID = /[^a-zA-Z0-9_:]/g;

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function sampleValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

function family(name: string, help: string, sample: string): string[] {
  return [`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} gauge`, sample];
}

/** "3.8.4-drover, built on 2026-11-24 00:00 UTC" -> version and build date, as ZooKeeper's zk_version_info labels them. */
function versionInfo(text: string): string {
  const [version, built] = text.split(', built on ');
  const labels = [`version="${escapeLabel((version ?? text).trim())}"`, ...(built ? [`built_on="${escapeLabel(built.trim())}"`] : [])];
  return `zk_version_info{${labels.join(',')}} 1`;
}

export function formatPrometheus(rows: readonly (readonly [string, string | number])[]): string {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const [key, value] of rows) {
    const text = String(value);
    if (key === 'zk_version') {
      if (!seen.has('zk_version_info')) out.push(...family('zk_version_info', 'ZooKeeper version info', versionInfo(text)));
      seen.add('zk_version_info');
      continue;
    }
    const name = (key.startsWith('zk_') ? key.slice(3) : key).replace(NAME_INVALID, '_');
    // A family appears once; a name that would start with a digit is not a metric name.
    if (seen.has(name) || !/^[a-zA-Z_:]/.test(name)) continue;
    seen.add(name);
    if (typeof value === 'number' || NUMBER.test(text)) {
      out.push(...family(name, `mntr ${key}`, `${name} ${sampleValue(Number(value))}`));
    } else {
      out.push(...family(name, `mntr ${key}, as a label`, `${name}{state="${escapeLabel(text)}"} 1`));
    }
  }
  return out.join('\n') + '\n';
}
