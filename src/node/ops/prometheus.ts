/**
 * Renders {@link ServerStats} in the Prometheus text exposition format (version 0.0.4), with
 * no dependency: serve the string from any HTTP handler.
 *
 * ```ts
 * http.createServer((req, res) => {
 *   res.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE });
 *   res.end(renderPrometheus(wss.stats()));
 * });
 * ```
 *
 * @module
 */
import { LOCAL_CLOSE_REASONS } from '../io/local-close.js';
import type { ServerStats } from './stats.js';

/** The `Content-Type` of the text format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Options of {@link renderPrometheus}. */
export interface PrometheusOptions {
  /** Prefix of every metric name (default `ws6455_`). Must match `[a-zA-Z_:][a-zA-Z0-9_:]*`. */
  prefix?: string;
  /** Labels added to every sample, e.g. `{ server: 'chat' }` to tell several servers apart. */
  labels?: Readonly<Record<string, string>>;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Label values escape backslash, double quote and line feed. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escapes backslash and line feed. */
function escapeHelp(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/**
 * The statistics as Prometheus text: one `# HELP` and `# TYPE` line per metric, then its
 * samples. Counters end in `_total`; close codes, refusal statuses and local close reasons are
 * labels (`code`, `status`, `reason`). A labelled metric with no sample yet (no refusal, no
 * close) has its HELP and TYPE lines only.
 *
 * @throws TypeError when the prefix or a label name is not valid in the format
 */
export function renderPrometheus(stats: ServerStats, options: PrometheusOptions = {}): string {
  const prefix = options.prefix ?? 'ws6455_';
  if (!METRIC_NAME.test(`${prefix}x`)) throw new TypeError(`Invalid Prometheus metric prefix: ${prefix}`);
  const base: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(options.labels ?? {})) {
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new TypeError(`Invalid Prometheus label name: ${name}`);
    base.push([name, value]);
  }
  const lines: string[] = [];
  const labels = (extra?: [string, string]): string => {
    const all = extra === undefined ? base : [...base, extra];
    if (all.length === 0) return '';
    return `{${all.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
  };
  const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: Array<[[string, string] | undefined, number]>): void => {
    const full = prefix + name;
    lines.push(`# HELP ${full} ${escapeHelp(help)}`, `# TYPE ${full} ${type}`);
    for (const [extra, value] of samples) lines.push(`${full}${labels(extra)} ${formatValue(value)}`);
  };
  const one = (value: number): Array<[undefined, number]> => [[undefined, value]];
  const by = (label: string, record: Record<string, number>): Array<[[string, string], number]> =>
    Object.entries(record).map(([key, value]) => [[label, key], value]);

  metric('connections', 'gauge', 'WebSocket connections open now.', one(stats.connections));
  metric('handshakes_accepted_total', 'counter', 'Opening handshakes accepted (101).', one(stats.handshakesAccepted));
  metric('handshakes_refused_total', 'counter', 'Opening handshakes refused, by HTTP status.', by('status', stats.refusedByStatus));
  metric(
    'http_refused_total',
    'counter',
    'Requests the own HTTP front refused before any handshake (malformed, timed out, not an upgrade, too large), by HTTP status.',
    by('status', stats.httpRefusedByStatus),
  );
  metric('messages_received_total', 'counter', 'Data messages received.', one(stats.messagesIn));
  metric('messages_sent_total', 'counter', 'Data messages sent.', one(stats.messagesOut));
  metric('bytes_received_total', 'counter', 'Bytes read from the sockets.', one(stats.bytesIn));
  metric('bytes_sent_total', 'counter', 'Bytes written to the sockets.', one(stats.bytesOut));
  metric('closes_total', 'counter', 'Closed connections, by close code.', by('code', stats.closeCodes));
  metric(
    'local_closes_total',
    'counter',
    'Connections closed by a policy of this server, by reason.',
    LOCAL_CLOSE_REASONS.map((reason) => [['reason', reason], stats.localCloses[reason] ?? 0]),
  );
  metric('broadcast_dropped_total', 'counter', 'Broadcast deliveries skipped by a backpressure policy.', one(stats.broadcastDropped));
  metric('backpressure_events_total', 'counter', 'Times outgoing data waited for a full socket.', one(stats.backpressureEvents));
  metric('rate_limited_messages_total', 'counter', 'Messages dropped by a rate limit.', one(stats.rateLimitedMessages));
  return `${lines.join('\n')}\n`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
