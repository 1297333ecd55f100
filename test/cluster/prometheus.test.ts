import { describe, expect, it } from 'vitest';
import { renderClusterPrometheus, type ClusterStats } from '../../src/cluster/index.js';

const stats: ClusterStats = {
  serverId: '0123456789abcdef',
  transport: 'streams',
  published: 10,
  publishedEntries: 3,
  outboxMessages: 1,
  outboxBytes: 40,
  outboxDropped: 2,
  received: 20,
  receivedEntries: 5,
  skipped: 1,
  duplicates: 4,
  gaps: 1,
  missed: 7,
  lagMs: 12,
  lagEntries: 6,
  reconnects: 2,
  errors: 9,
  requests: 3,
  answers: 5,
  requestTimeouts: 1,
};

describe('renderClusterPrometheus', () => {
  it('renders every counter and gauge with the server label', () => {
    const text = renderClusterPrometheus(stats, { labels: { app: 'chat "1"' } });
    const lines = text.trimEnd().split('\n');
    expect(lines.filter((l) => l.startsWith('# TYPE')).length).toBe(18);
    expect(text).toContain('# TYPE ws6455_cluster_missed_messages_total counter');
    expect(text).toContain('ws6455_cluster_missed_messages_total{server="0123456789abcdef",app="chat \\"1\\""} 7');
    expect(text).toContain('ws6455_cluster_lag_entries{server="0123456789abcdef",app="chat \\"1\\""} 6');
    expect(text).toContain('# TYPE ws6455_cluster_outbox_bytes gauge');
    expect(text).toContain('ws6455_cluster_duplicate_entries_total{server="0123456789abcdef",app="chat \\"1\\""} 4');
    for (const l of lines) if (!l.startsWith('#')) expect(l).toMatch(/^[a-z_0-9]+\{[^}]*\} \d+$/);
  });

  it('refuses invalid prefixes and label names', () => {
    expect(() => renderClusterPrometheus(stats, { prefix: '1x' })).toThrow(TypeError);
    expect(() => renderClusterPrometheus(stats, { labels: { 'a-b': 'x' } })).toThrow(TypeError);
    expect(renderClusterPrometheus(stats, { prefix: 'app_' })).toContain('app_published_messages_total');
  });
});
