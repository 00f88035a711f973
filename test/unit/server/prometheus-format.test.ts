/** mntr rows as Prometheus text, read back by a strict parser; and the parser's own strictness. */
import { describe, it, expect } from 'vitest';
import { formatPrometheus } from '../../../coordinator/server/prometheus-format.ts';
import { parsePrometheusText, sampleValue, PrometheusParseError } from '../../helpers/prometheus-text.ts';

describe('mntr as Prometheus text', () => {
  it("names gauges as ZooKeeper's provider does and keeps every value", () => {
    const text = formatPrometheus([
      ['zk_version', '3.8.4-drover, built on 2026-11-24 00:00 UTC'],
      ['zk_server_state', 'leader'],
      ['zk_avg_latency', '0.1234'],
      ['zk_znode_count', 12],
      ['zk_last_proposal_size', -1],
      ['zk_peer_state', 'leading - broadcast'],
      ['zk_znode_count', 13],
    ]);
    const m = parsePrometheusText(text);
    expect([...m.keys()]).toEqual(['zk_version_info', 'server_state', 'avg_latency', 'znode_count', 'last_proposal_size', 'peer_state']);
    expect(m.get('znode_count')).toMatchObject({ type: 'gauge', help: 'mntr zk_znode_count', samples: [{ name: 'znode_count', labels: {}, value: 12 }] });
    expect(sampleValue(m, 'avg_latency')).toBe(0.1234);
    expect(sampleValue(m, 'last_proposal_size')).toBe(-1);
    expect(sampleValue(m, 'zk_version_info', { version: '3.8.4-drover', built_on: '2026-11-24 00:00 UTC' })).toBe(1);
    expect(sampleValue(m, 'server_state', { state: 'leader' })).toBe(1);
    expect(sampleValue(m, 'peer_state', { state: 'leading - broadcast' })).toBe(1);
  });

  it('escapes label values', () => {
    const m = parsePrometheusText(formatPrometheus([['zk_server_state', 'a "b" \\ c\nd']]));
    expect(m.get('server_state')?.samples[0]?.labels).toEqual({ state: 'a "b" \\ c\nd' });
  });
});

describe('the strict Prometheus text parser', () => {
  const bad: [string, string][] = [
    ['no final newline', '# TYPE a gauge\na 1'],
    ['no TYPE', 'a 1\n'],
    ['TYPE after samples', '# TYPE a gauge\na 1\n# TYPE a gauge\n'],
    ['bad value', '# TYPE a gauge\na one\n'],
    ['bad name', '# TYPE 1a gauge\n'],
    ['unquoted label', '# TYPE a gauge\na{x=1} 1\n'],
    ['bad escape', '# TYPE a gauge\na{x="\\t"} 1\n'],
    ['repeated series', '# TYPE a gauge\na{x="1"} 1\na{x="1"} 2\n'],
    ['split family', '# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x="2"} 1\n'],
    ['unknown type', '# TYPE a meter\n'],
    ['buckets not cumulative', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'],
    ['no +Inf bucket', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'],
    ['count off', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n'],
  ];
  for (const [what, text] of bad) {
    it(`refuses ${what}`, () => expect(() => parsePrometheusText(text)).toThrow(PrometheusParseError));
  }

  it('reads histograms, counters, comments and timestamps', () => {
    const m = parsePrometheusText(
      '# a comment\n# HELP c_total runs\n# TYPE c_total counter\nc_total{job="a"} 3 1700000000000\n\n# TYPE h histogram\nh_bucket{le="0.5",job="a"} 1\nh_bucket{le="+Inf",job="a"} 2\nh_sum{job="a"} 1.5\nh_count{job="a"} 2\n',
    );
    expect(sampleValue(m, 'c_total', { job: 'a' })).toBe(3);
    expect(sampleValue(m, 'h_count', { job: 'a' })).toBe(2);
    expect(m.get('h')?.samples).toHaveLength(4);
  });
});
