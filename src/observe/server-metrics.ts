// The server's metrics (--metrics, GET /metrics), named as OpenTelemetry's
// HTTP semantic conventions name them where they have a name, and spindle_*
// otherwise. Requests are counted as they end, from the record the access
// log reads too; everything else is read from its owner when scraped
// (connections, the pool's counters, the file cache), so a request costs
// one histogram update and nothing more. The job timings come back with each
// job's result, which is sent anyway: no message per request.
import type { PoolStats, RestartCause } from '../pool/pool-options.js';
import { Counter, Gauge, Histogram, Registry } from './prometheus.js';
import type { RequestObserver, RequestRecord } from './request-record.js';

/** OpenTelemetry's advised buckets for http.server.request.duration, in seconds */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
/** the methods OpenTelemetry names; any other is _OTHER, so a client cannot make a label per request */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

const JOB_OUTCOMES = ['ok', 'failed', 'timed_out', 'aborted', 'rejected'] as const;
export type JobOutcome = (typeof JOB_OUTCOMES)[number];

export interface ConnectionView {
  readonly state: 'reading' | 'writing' | 'idle';
  readonly socket: { readonly bytesRead: number; readonly bytesWritten: number };
}

/** The parts of a server the metrics read, each when scraped; null for a part the server does not have. */
export interface MetricsSource {
  /** the front door: the open connections, and the sockets accepted since start */
  readonly frontDoor: { connections(): Iterable<ConnectionView>; readonly acceptedCount: number };
  readonly server: {
    readonly poolStats: PoolStats | null;
    /** the application's generation and reloads; null without an application */
    readonly generations: { generation: number; reloads: { ok: number; failed: number } } | null;
  };
  readonly staticFiles: { readonly cacheCounts: { hits: number; misses: number } } | null;
  readonly accessLog: { readonly dropped: number } | null;
  readonly tls: { readonly failedHandshakes: number } | null;
}

export class ServerMetrics implements RequestObserver {
  #registry = new Registry();
  #source: MetricsSource;
  #active = 0;
  /** bytes of connections already closed; open ones are read from their sockets */
  #closedBytesRead = 0;
  #closedBytesWritten = 0;
  #duration: Histogram;
  #queueWait: Histogram;
  #runTime: Histogram;
  #parseErrors: Counter;
  #jobs: Counter;

  constructor(source: MetricsSource) {
    this.#source = source;
    const r = this.#registry;
    this.#duration = r.add(new Histogram('http_server_request_duration_seconds', 'Time from the first byte of a request to the last byte of its response.',
      DURATION_BUCKETS, ['http_request_method', 'http_response_status_code', 'answered_by']));
    r.add(new Gauge('http_server_active_requests', 'Requests handed to a handler and not yet answered.', [], () => [[[], this.#active]]));
    r.add(new Counter('spindle_connections_accepted_total', 'Connections accepted, those closed at once at the connection cap included.', [],
      () => [[[], source.frontDoor.acceptedCount]]));
    r.add(new Gauge('spindle_connections_open', 'Open connections.', [], () => [[[], [...source.frontDoor.connections()].length]]));
    r.add(new Gauge('spindle_connections', 'Open connections by state (nginx stub_status): reading a request head, writing (a request being answered), idle.',
      ['state'], () => this.#connectionStates()));
    r.add(new Counter('spindle_received_bytes_total', 'Bytes read from client sockets.', [], () => [[[], this.#bytes().read]]));
    r.add(new Counter('spindle_sent_bytes_total', 'Bytes written to client sockets.', [], () => [[[], this.#bytes().written]]));
    this.#parseErrors = r.add(new Counter('spindle_parse_errors_total', 'Requests refused by the engine as they arrived, by the status sent.', ['status']));
    if (source.server.poolStats !== null) this.#addPool(r);
    this.#jobs = r.add(new Counter('spindle_pool_jobs_total', 'Application jobs by outcome: ok, failed, timed_out, aborted, rejected (queue full).', ['outcome']));
    for (const outcome of JOB_OUTCOMES) this.#jobs.add([outcome], 0); // every series from the start, so rate() sees the first one
    this.#queueWait = r.add(new Histogram('spindle_pool_queue_wait_seconds', 'Time a job waited for a worker.', DURATION_BUCKETS));
    this.#runTime = r.add(new Histogram('spindle_pool_run_seconds', 'Time from a job\'s start on a worker to its Response.', DURATION_BUCKETS));
    const staticFiles = source.staticFiles;
    if (staticFiles !== null) {
      r.add(new Counter('spindle_static_cache_lookups_total', 'File metadata lookups, answered from the cache (hit) or by a stat (miss).', ['result'],
        () => [[['hit'], staticFiles.cacheCounts.hits], [['miss'], staticFiles.cacheCounts.misses]]));
    }
    r.add(new Counter('spindle_access_log_dropped_lines_total', 'Access log lines dropped because the destination was too slow.', [],
      () => [[[], source.accessLog?.dropped ?? 0]]));
    const tls = source.tls;
    if (tls !== null) {
      r.add(new Counter('spindle_tls_handshake_failures_total', 'TLS handshakes that failed.', [], () => [[[], tls.failedHandshakes]]));
    }
  }

  #addPool(r: Registry): void {
    const pool = (): PoolStats => this.#source.server.poolStats!;
    r.add(new Gauge('spindle_pool_threads', 'Worker threads, and those ready for jobs.', ['state'],
      () => [[['configured'], pool().threads], [['ready'], pool().ready]]));
    r.add(new Gauge('spindle_pool_queue_length', 'Jobs waiting for a worker.', [], () => [[[], pool().queued]]));
    r.add(new Gauge('spindle_pool_jobs_in_flight', 'Jobs running on each worker.', ['worker'],
      () => pool().inFlightPerWorker.map((jobs, i) => [[String(i)], jobs] as [string[], number])));
    r.add(new Gauge('spindle_app_generation', 'The application\'s generation: 1 at start, one more for each reload that took.', [],
      () => [[[], this.#source.server.generations?.generation ?? 1]]));
    r.add(new Counter('spindle_app_reloads_total', 'Reloads of the application (SIGHUP), by result.', ['result'], () => {
      const reloads = this.#source.server.generations?.reloads ?? { ok: 0, failed: 0 };
      return [[['ok'], reloads.ok], [['failed'], reloads.failed]];
    }));
    r.add(new Counter('spindle_pool_worker_restarts_total', 'Workers replaced, by cause.', ['cause'],
      () => Object.entries(pool().restartsByCause).map(([cause, n]) => [[cause as RestartCause], n] as [string[], number])));
  }

  requestStarted(): void {
    this.#active++;
  }

  requestDone(record: RequestRecord): void {
    const request = record.request;
    if (request !== null) this.#active--;
    const method = request === null ? '_OTHER' : KNOWN_METHODS.has(request.method) ? request.method : '_OTHER';
    const facts = record.facts;
    const answeredBy = facts?.answeredBy ?? 'builtin';
    this.#duration.observe([method, String(record.status), answeredBy], (record.endedAt - record.startedAt) / 1000);
    if (facts !== null && facts.queueMs >= 0) {
      this.#queueWait.observe([], facts.queueMs / 1000);
      this.#runTime.observe([], facts.runMs / 1000);
    }
  }

  parseError(status: number): void {
    this.#parseErrors.add([String(status)]);
  }

  jobSettled(outcome: JobOutcome): void {
    this.#jobs.add([outcome]);
  }

  /** A connection closed: its bytes move to the totals. */
  connectionClosed(connection: ConnectionView): void {
    this.#closedBytesRead += connection.socket.bytesRead;
    this.#closedBytesWritten += connection.socket.bytesWritten;
  }

  render(): string {
    return this.#registry.render();
  }

  #connectionStates(): Array<[string[], number]> {
    const counts = { reading: 0, writing: 0, idle: 0 };
    for (const connection of this.#source.frontDoor.connections()) counts[connection.state]++;
    return [[['reading'], counts.reading], [['writing'], counts.writing], [['idle'], counts.idle]];
  }

  #bytes(): { read: number; written: number } {
    let read = this.#closedBytesRead;
    let written = this.#closedBytesWritten;
    for (const connection of this.#source.frontDoor.connections()) {
      read += connection.socket.bytesRead;
      written += connection.socket.bytesWritten;
    }
    return { read, written };
  }
}
