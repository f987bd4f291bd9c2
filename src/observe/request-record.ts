// What the connection reports about each request once it is over: the one
// record the access log and the metrics read, made only when something
// observes (a server without either builds none).
import { readForwarded, type TrustList } from '../http/forwarded.js';
import { adoptRequestId } from '../http/request-id.js';
import type { HttpRequest } from '../http/request-parser.js';

/** Who answered: the engine itself (/healthz, errors, OPTIONS *), a static file, or the application. */
export type AnsweredBy = 'builtin' | 'static' | 'app';

/** Filled in along the way by whoever answers; read when the request is over. */
export interface RequestFacts {
  answeredBy: AnsweredBy;
  /** the request's id: the client's X-Request-Id when valid, else one made here */
  requestId: string;
  /** for the application: ms the job waited for a worker, and ran; the worker's thread id */
  queueMs: number;
  runMs: number;
  workerId: number;
  /** from trusted proxies (--trust-proxy): the client's address, and the scheme and Host it used; null when not told */
  clientAddress: string | null;
  forwardedProto: 'http' | 'https' | null;
  forwardedHost: string | null;
}

export interface RequestRecord {
  /** null for bytes that did not parse as a request (the engine's 400, 408, 413, 431 ...) */
  request: HttpRequest | null;
  /** the request line as sent: of the request, or of bytes that failed after it; null when there was none */
  requestLine: string | null;
  /** the status sent; 499 when the client left before the response began (nginx's code) */
  status: number;
  /** body bytes written (not the head) */
  bodyBytes: number;
  /** when its first bytes arrived and when it ended, performance.now() ms */
  startedAt: number;
  endedAt: number;
  remoteAddress: string;
  facts: RequestFacts | null;
}

export interface RequestObserver {
  /** a request has been handed to its handler (the metrics' active requests) */
  requestStarted?(): void;
  requestDone(record: RequestRecord): void;
  /** bytes that did not parse, or a body that failed, answered with this status */
  parseError?(status: number): void;
}

/** One observer that tells several. */
export function observeAll(observers: Array<RequestObserver | null>): RequestObserver | null {
  const present = observers.filter((observer): observer is RequestObserver => observer !== null);
  if (present.length <= 1) return present[0] ?? null;
  return {
    requestStarted: () => { for (const observer of present) observer.requestStarted?.(); },
    requestDone: (record) => { for (const observer of present) observer.requestDone(record); },
    parseError: (status) => { for (const observer of present) observer.parseError?.(status); },
  };
}

export function newFacts(requestId: string): RequestFacts {
  return { answeredBy: 'builtin', requestId, queueMs: -1, runMs: -1, workerId: -1, clientAddress: null, forwardedProto: null, forwardedHost: null };
}

/** A request's facts as it is dispatched: its id, and what trusted proxies say about its client. */
export function factsOf(request: HttpRequest, peer: string, trust: TrustList | null): RequestFacts {
  const facts = newFacts(adoptRequestId(request));
  const forwarded = trust === null ? null : readForwarded(request, peer, trust);
  if (forwarded !== null) {
    facts.clientAddress = forwarded.client;
    facts.forwardedProto = forwarded.proto;
    facts.forwardedHost = forwarded.host;
  }
  return facts;
}
