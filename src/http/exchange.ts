// One request's exchange with its client, as a handler sees it: the handler
// gets the request and this object, and through it learns when the client
// goes away. The connection makes one per request and settles it once: when
// the response has been written to its end (finish), or when the client is
// gone before that (the socket closed, or the response could not be sent).
// A streamed response is still part of its exchange until its last byte.
import type { RequestFacts } from '../observe/request-record.js';
import type { IncomingBody } from './incoming-body.js';
import type { HttpRequest } from './request-parser.js';
import type { HttpResponse } from './response.js';

export interface Exchange {
  /** Aborted when the client goes away before the response is finished. */
  readonly signal: AbortSignal;
  /** Calls back once if the client goes away before the response is finished; at once if it has. */
  onClientGone(callback: () => void): void;
  /** Calls back once when the response has been written to its end. */
  onFinish(callback: () => void): void;
  /**
   * The request body, when it is still arriving as the handler is called
   * (request.body is then empty); null when request.body holds all of it.
   */
  readonly body: IncomingBody | null;
  /**
   * What the server learns about the request as it is answered, for the
   * access log and the metrics: its id (`facts.requestId`), who answered,
   * and for the application the time queued and run.
   */
  readonly facts: RequestFacts;
}

export type Handler = (request: HttpRequest, exchange: Exchange) => HttpResponse | Promise<HttpResponse>;

const OPEN = 0;
const FINISHED = 1;
const GONE = 2;

export class RequestExchange implements Exchange {
  #state: typeof OPEN | typeof FINISHED | typeof GONE = OPEN;
  #onGone: (() => void)[] | null = null;
  #onFinish: (() => void)[] | null = null;
  #abort: AbortController | null = null;
  readonly body: IncomingBody | null;
  readonly facts: RequestFacts;

  constructor(facts: RequestFacts, body: IncomingBody | null = null) {
    this.facts = facts;
    this.body = body;
  }

  get signal(): AbortSignal {
    // Made on first use: most handlers never look at it.
    if (this.#abort === null) {
      this.#abort = new AbortController();
      if (this.#state === GONE) this.#abort.abort(goneReason());
    }
    return this.#abort.signal;
  }

  onClientGone(callback: () => void): void {
    if (this.#state === GONE) callback();
    else if (this.#state === OPEN) (this.#onGone ??= []).push(callback);
  }

  onFinish(callback: () => void): void {
    if (this.#state === FINISHED) callback();
    else if (this.#state === OPEN) (this.#onFinish ??= []).push(callback);
  }

  /** The response has been written to its end. */
  finish(): void {
    if (this.#state !== OPEN) return;
    this.#state = FINISHED;
    const callbacks = this.#onFinish;
    this.#onGone = this.#onFinish = null;
    if (callbacks !== null) for (const callback of callbacks) callback();
  }

  /** The client went away before the response was finished. */
  clientGone(): void {
    if (this.#state !== OPEN) return;
    this.#state = GONE;
    const callbacks = this.#onGone;
    this.#onGone = this.#onFinish = null;
    this.#abort?.abort(goneReason());
    if (callbacks !== null) for (const callback of callbacks) callback();
  }
}

function goneReason(): Error {
  return new DOMException('the client went away before its response was finished', 'AbortError');
}
