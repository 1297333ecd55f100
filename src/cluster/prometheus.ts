/**
 * Renders {@link ClusterStats} in the Prometheus text exposition format (version 0.0.4), to be
 * served next to the server's own metrics (`renderPrometheus` of the main entry). The
 * formatting helpers of the server's renderer are private to it, so the few lines needed are
 * here.
 *
 * @module
 */
import type { ClusterStats } from './types.js';

/** Options of {@link renderClusterPrometheus}. */
export interface ClusterPrometheusOptions {
  /** Prefix of every metric name (default `ws6455_cluster_`). Must match `[a-zA-Z_:][a-zA-Z0-9_:]*`. */
  prefix?: string;
  /** Labels added to every sample (the server id is added as `server` unless given). */
  labels?: Readonly<Record<string, string>>;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/**
 * The cluster's counters as Prometheus text: counters end in `_total`; lag and outbox are
 * gauges.
 *
 * @throws TypeError when the prefix or a label name is not valid in the format
 */
export function renderClusterPrometheus(stats: ClusterStats, options: ClusterPrometheusOptions = {}): string {
  const prefix = options.prefix ?? 'ws6455_cluster_';
  if (!METRIC_NAME.test(`${prefix}x`)) throw new TypeError(`Invalid Prometheus metric prefix: ${prefix}`);
  const all: Record<string, string> = { server: stats.serverId, ...options.labels };
  const pairs: string[] = [];
  for (const [name, value] of Object.entries(all)) {
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new TypeError(`Invalid Prometheus label name: ${name}`);
    pairs.push(`${name}="${escapeLabel(value)}"`);
  }
  const labels = `{${pairs.join(',')}}`;
  const lines: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, value: number): void => {
    const full = prefix + name;
    lines.push(`# HELP ${full} ${help}`, `# TYPE ${full} ${type}`, `${full}${labels} ${Number.isFinite(value) ? value : 0}`);
  };
  metric('published_messages_total', 'counter', 'Messages taken by Redis for the other servers.', stats.published);
  metric('published_entries_total', 'counter', 'Redis entries written (a batch of messages each).', stats.publishedEntries);
  metric('received_messages_total', 'counter', 'Messages received from other servers.', stats.received);
  metric('received_entries_total', 'counter', 'Redis entries received from other servers.', stats.receivedEntries);
  metric('skipped_entries_total', 'counter', 'Entries that could not be read and were skipped.', stats.skipped);
  metric('duplicate_entries_total', 'counter', 'Entries received twice and dropped.', stats.duplicates);
  metric('gaps_total', 'counter', 'Times entries of another server were missed.', stats.gaps);
  metric('missed_messages_total', 'counter', 'Messages of other servers missed.', stats.missed);
  metric('outbox_dropped_total', 'counter', 'Messages not relayed because the outbox was full.', stats.outboxDropped);
  metric('outbox_messages', 'gauge', 'Messages waiting to be written to Redis.', stats.outboxMessages);
  metric('outbox_bytes', 'gauge', 'Bytes waiting to be written to Redis.', stats.outboxBytes);
  metric('lag_milliseconds', 'gauge', 'Time between Redis storing the last entry read and reading it.', stats.lagMs);
  metric('lag_entries', 'gauge', 'Entries of other servers not read yet (at the last heartbeat).', stats.lagEntries);
  metric('reconnects_total', 'counter', 'Times the cluster\'s own Redis connection was made again.', stats.reconnects);
  metric('errors_total', 'counter', 'Redis errors and outbox refusals.', stats.errors);
  metric('requests_total', 'counter', 'Server-to-server requests sent.', stats.requests);
  metric('answers_total', 'counter', 'Answers received to requests.', stats.answers);
  metric('request_timeouts_total', 'counter', 'Requests that ended at their timeout with answers missing.', stats.requestTimeouts);
  return `${lines.join('\n')}\n`;
}
