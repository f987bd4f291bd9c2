// What a Connection is given: the server's settings and callbacks
// (ConnectionHost), shared by all its connections, and what differs from one
// connection to the next (ConnectionOptions: TLS's checks, the PROXY
// protocol's client address). The server, the TLS front and the redirect
// listener make these; the connection reads them and nothing else of theirs.
import type { Connection } from './connection.js';
import type { Handler } from './http/exchange.js';
import type { TrustList } from './http/forwarded.js';
import type { HttpRequest, ParserLimits } from './http/request-parser.js';
import type { HttpResponse } from './http/response.js';
import type { RequestObserver } from './observe/request-record.js';

export interface ConnectionConfig {
  limits: ParserLimits;
  headerTimeoutMs: number;
  bodyTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** a response write that makes no progress for this long ends the connection */
  sendTimeoutMs: number;
  /** requests parsed but not yet answered; past it the connection stops reading */
  maxPipelined: number;
}

export interface ConnectionHost {
  readonly config: ConnectionConfig;
  handle: Handler;
  /**
   * true: a request whose body has not all arrived with its head goes to
   * its handler at once, the body following through exchange.body
   */
  readonly streamsRequestBodies: boolean;
  /** told of every request once it is over (the access log, the metrics); null: nobody is */
  readonly observer: RequestObserver | null;
  /** peers whose X-Forwarded-* and Forwarded fields are believed (--trust-proxy); null: nobody's */
  readonly trustProxy: TrustList | null;
  log(message: string): void;
  onConnectionClose(connection: Connection): void;
  /** the connection has nothing to do: no request has begun, nothing is left to write (a new connection too) */
  onConnectionIdle(connection: Connection): void;
  /** bytes have arrived on an idle connection */
  onConnectionBusy(connection: Connection): void;
}

/** What differs between connections of one server: the TLS ones are checked against their certificate. */
export interface ConnectionOptions {
  /**
   * Answers a request in place of its handler, or returns null to let the
   * handler answer: 421 for a host the connection's certificate does not
   * cover, 400 for plain HTTP on an HTTPS port. `close` ends the connection after it.
   */
  screen?: (request: HttpRequest) => { response: HttpResponse; close: boolean } | null;
  /** header lines added to every response (HSTS), already serialized: "Name: value\r\n" */
  extraHead?: string;
  /** the client's address when the socket's peer is a proxy that said it (the PROXY protocol) */
  remoteAddress?: string;
}
