// One socket's life: read bytes → parse → dispatch → write responses in
// request order → keep alive or close. Every socket is owned by exactly one
// Connection, one state object with its handlers beside it, so the
// lifecycle reads on one screen (as in Node's connectionListenerInternal).
//
//   accept ─▶ reading head ─▶ reading body ─▶ dispatched ─▶ response written ─┬─▶ idle (keep-alive) ─▶ reading head …
//                 │                │                                           └─▶ closing ─▶ closed
//                 └──── 4xx, timeout, EOF ──────────────────────────────────────────▶ closing
//
// Pipelined requests wait in #queue, oldest first; a response is written only
// when every earlier one has been, so handlers may finish in any order.
import type { Socket } from 'node:net';
import { RequestExchange, type Handler } from './http/exchange.js';
import { HttpError } from './http/http-error.js';
import { IncomingBody } from './http/incoming-body.js';
import { HEAD, NEED_MORE, RequestParser, type HttpRequest, type ParserLimits } from './http/request-parser.js';
import {
  FRAMING_CLOSE, FRAMING_LENGTH, FRAMING_NONE, chooseFraming, errorResponse, serializeHead,
  type Framing, type HttpResponse,
} from './http/response.js';
import type { TrustList } from './http/forwarded.js';
import { newRequestId } from './http/request-id.js';
import { factsOf, newFacts, type RequestFacts, type RequestObserver } from './observe/request-record.js';
import { ResponseWriter, releaseBody } from './response-writer.js';
import {
  ConnectionTimer, TIMER_BODY, TIMER_HEADER, TIMER_KEEPALIVE, TIMER_LINGER, TIMER_NONE,
  type TimerKind, type TimerOwner,
} from './connection-timer.js';

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

const NO_OPTIONS: ConnectionOptions = {};

interface Slot {
  /** null for a canned error answer to bytes that did not parse */
  request: HttpRequest | null;
  response: HttpResponse | null;
  /** what the handler was given; null with the canned error answer */
  exchange: RequestExchange | null;
  facts: RequestFacts;
  /** with a canned error answer: the request line, if the bytes got that far */
  requestLine: string | null;
  /** when its first bytes arrived (performance.now()), for the observer */
  startedAt: number;
  /** the observer has been told */
  isRecorded: boolean;
}

const LINGER_MS = 2000;
/**
 * At shutdown, how long a connection must have been idle before it is
 * closed: one that became idle just now may be carrying a request its proxy
 * is sending this moment, which a close would turn into a reset (and nginx
 * into a 502 for a POST). That request is answered, with Connection: close.
 */
const SHUTDOWN_IDLE_MS = 500;
/** nginx's status for a request whose client left before its response began */
const CLIENT_GONE = 499;
const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');

export class Connection implements TimerOwner {
  readonly socket: Socket;
  #host: ConnectionHost;
  #options: ConnectionOptions;
  #config: ConnectionConfig;
  #parser: RequestParser;
  #writer: ResponseWriter;
  #queue: Slot[] = [];
  /** no further request will be read; end the socket once #queue is written */
  #isClosing = false;
  /** the socket has been ended or destroyed */
  #isEnded = false;
  /** every response says Connection: close (a drain or a shutdown) */
  #isShuttingDown = false;
  /** shutting down: close once idle for SHUTDOWN_IDLE_MS */
  #closesWhenIdle = false;
  /** the client has sent FIN: answer the complete requests it sent, then close */
  #hasPeerEnded = false;
  #isProcessing = false;
  /** the response whose streamed body is being written, ahead of #queue */
  #streaming: Slot | null = null;
  /** the request whose handler runs while its body is still arriving */
  #receiving: { slot: Slot; body: IncomingBody } | null = null;
  /** the request owed a 100 (Continue) once its handler reads the body */
  #continueSlot: Slot | null = null;
  #isReadPaused = false;
  /** a 100 Continue is owed to the request being received, held back behind earlier responses */
  #isContinueOwed = false;
  /** as last reported to the host: onConnectionIdle, then onConnectionBusy, and so on */
  #isIdle = false;
  /** when #isIdle last became true (performance.now()) */
  #idleSince = 0;
  #requestCount = 0;
  /** when the bytes of the request being read began to arrive (performance.now()); kept only with an observer */
  #requestStartedAt = 0;
  /** the peer's address, read at accept (a closed socket has none); only with an observer or a trust list */
  #remoteAddress = '-';
  /** the header, body, keep-alive and linger deadlines, one at a time */
  #timer: ConnectionTimer = new ConnectionTimer(this);

  static #bySocket = new WeakMap<Socket, Connection>();

  // Listeners, called with the socket as `this`.
  static #socketDataListener(this: Socket, chunk: Buffer): void {
    const connection = Connection.#bySocket.get(this);
    if (connection !== undefined) connection.#onSocketData(chunk);
  }

  static #socketEndListener(this: Socket): void {
    const connection = Connection.#bySocket.get(this);
    if (connection !== undefined) connection.#onSocketEnd();
  }

  static #socketErrorListener(this: Socket): void {
    // ECONNRESET, EPIPE and the like end this connection and nothing else.
    this.destroy();
  }

  static #socketCloseListener(this: Socket): void {
    const connection = Connection.#bySocket.get(this);
    if (connection !== undefined) connection.#onSocketClose();
  }

  static #socketDrainListener(this: Socket): void {
    const connection = Connection.#bySocket.get(this);
    if (connection !== undefined) connection.#onSocketDrain();
  }

  static #socketTimeoutListener(this: Socket): void {
    // A response write made no progress for sendTimeoutMs: the client is not reading.
    this.destroy();
  }

  constructor(socket: Socket, host: ConnectionHost, options: ConnectionOptions = NO_OPTIONS) {
    this.socket = socket;
    this.#host = host;
    this.#options = options;
    this.#config = host.config;
    this.#parser = new RequestParser(host.config.limits);
    this.#writer = new ResponseWriter(socket, host.config.sendTimeoutMs);
    socket.setNoDelay(true);
    // The listeners are shared by all connections and find theirs through
    // the socket: a closure per event per connection would cost more memory
    // than the rest of an idle connection's state.
    Connection.#bySocket.set(socket, this);
    socket.on('data', Connection.#socketDataListener);
    socket.on('end', Connection.#socketEndListener);
    socket.on('error', Connection.#socketErrorListener);
    socket.on('close', Connection.#socketCloseListener);
    socket.on('drain', Connection.#socketDrainListener);
    socket.on('timeout', Connection.#socketTimeoutListener);
    // The first request must arrive within the header timeout (nginx's client_header_timeout).
    this.#timer.set(TIMER_HEADER, host.config.headerTimeoutMs, true);
    if (host.observer !== null || host.trustProxy !== null) this.#remoteAddress = options.remoteAddress ?? socket.remoteAddress ?? '-';
    if (host.observer !== null) this.#requestStartedAt = performance.now();
    this.#isIdle = true;
    this.#idleSince = performance.now();
    host.onConnectionIdle(this);
  }

  /**
   * Lame-duck drain (--drain-delay): from now on every response says
   * Connection: close, the one being answered included; an idle connection
   * stays open for one more request, which its client may be sending now.
   */
  drain(): void {
    this.#isShuttingDown = true;
    if (!this.#isEnded && (this.#queue.length > 0 || this.#streaming !== null)) this.#isClosing = true;
  }

  /**
   * Graceful shutdown: a busy connection answers what it has received (the
   * last response says Connection: close), then closes; an idle one closes
   * once it has been idle for a moment (SHUTDOWN_IDLE_MS), answering with
   * Connection: close a request that arrives before then.
   */
  shutdown(): void {
    this.#isShuttingDown = true;
    this.#closesWhenIdle = true;
    if (this.#isEnded) return;
    // A request whose body is arriving is in flight: it gets its body and its answer.
    const isBusy = this.#queue.length > 0 || this.#streaming !== null;
    if ((this.#parser.isIdle && isBusy) || this.#receiving !== null) this.#isClosing = true;
    this.#afterProgress();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /**
   * nginx stub_status's states: writing while a request is being answered
   * (its body read, its handler run, its response written), reading while a
   * head arrives, idle between requests.
   */
  get state(): 'reading' | 'writing' | 'idle' {
    if (this.#queue.length > 0 || this.#streaming !== null || this.#receiving !== null) return 'writing';
    return this.#isIdle ? 'idle' : 'reading';
  }

  #onSocketData(chunk: Buffer): void {
    if (this.#isClosing && this.#receiving === null) return; // discarding: nothing more will be answered
    if (this.#isIdle) {
      this.#isIdle = false;
      this.#host.onConnectionBusy(this);
    }
    if (this.#host.observer !== null && this.#parser.isIdle) this.#requestStartedAt = performance.now();
    this.#parser.push(chunk);
    this.socket.cork();
    this.#processRequests();
    this.socket.uncork();
  }

  #onSocketEnd(): void {
    // The client will send no more. Answer the complete requests it sent,
    // then close; a partial request is dropped.
    this.#hasPeerEnded = true;
    if (this.#receiving !== null) {
      // The body will never be whole: its handler's read fails.
      this.#receiving.body.fail(new Error('the client closed its side before the request body ended'));
      this.#receiving = null;
      this.#isClosing = true;
    }
    // A streamed body may last hours (server-sent events): a client that
    // ends its side while one is being written has gone, as nginx and hyper
    // take it, and the stream's source is cancelled now, not at the next write.
    if (this.#streaming !== null) {
      this.socket.destroy();
      return;
    }
    this.#processRequests();
  }

  #onSocketClose(): void {
    this.#isEnded = true;
    this.#isClosing = true;
    this.#timer.clear();
    const streaming = this.#streaming;
    if (streaming !== null) {
      streaming.exchange?.clientGone();
      // Its head went out: the log has its status and the bytes that did.
      this.#record(streaming, streaming.response!.status, this.#writer.streamedBytes);
    }
    this.#streaming = null;
    this.#receiving?.body.fail(new Error('the client went away before the request body ended'));
    this.#receiving = null;
    for (const slot of this.#queue) {
      slot.exchange?.clientGone();
      if (slot.request !== null) this.#record(slot, CLIENT_GONE, 0);
    }
    this.#queue.length = 0;
    this.#host.onConnectionClose(this);
  }

  #onSocketDrain(): void {
    this.socket.setTimeout(0);
    this.#processRequests();
  }

  /** The timer's deadline of `kind` passed (called by the ConnectionTimer only). */
  onTimer(kind: TimerKind): void {
    switch (kind) {
      case TIMER_KEEPALIVE:
        this.#endSocket();
        break;
      case TIMER_HEADER:
        if (this.#parser.isIdle) this.#endSocket(); // nothing was sent: close quietly, as nginx does
        else this.#fail(new HttpError(408, 'ERR_HEADER_TIMEOUT', 'request head not received within the header timeout'));
        break;
      case TIMER_BODY:
        this.#fail(new HttpError(408, 'ERR_BODY_TIMEOUT', 'request body made no progress within the body timeout'));
        break;
      case TIMER_LINGER:
        this.socket.destroy();
        break;
    }
  }

  /** Parses and dispatches buffered requests while the connection may take more. */
  #processRequests(): void {
    if (this.#isProcessing) return;
    this.#isProcessing = true;
    try {
      while (this.#mayParse()) {
        let step;
        try {
          step = this.#parser.advance();
        } catch (err) {
          this.#fail(err);
          break;
        }
        const receiving = this.#receiving;
        if (receiving !== null) {
          // The body of a request whose handler already runs.
          const parts = this.#parser.takeBodyParts();
          if (parts.length > 0 && this.#continueSlot === receiving.slot) this.#continueSlot = null; // it came unasked
          receiving.body.push(parts);
          if (step === NEED_MORE) break;
          receiving.body.end();
          this.#receiving = null;
          continue;
        }
        const request = this.#parser.request;
        if (step === NEED_MORE) {
          if (this.#hasPeerEnded) this.#isClosing = true;
          else if (this.#parser.isReadingBody && this.#host.streamsRequestBodies) this.#dispatchStreaming(request);
          break;
        }
        if (step === HEAD) {
          if (request.expectContinue && !this.#host.streamsRequestBodies) this.#sendContinue();
          continue;
        }
        this.#dispatch(request, null);
        this.#writeReadyResponses();
      }
    } finally {
      this.#isProcessing = false;
    }
    this.#afterProgress();
  }

  #mayParse(): boolean {
    if (this.socket.writableNeedDrain) return false;
    if (this.#receiving !== null) return !this.#receiving.body.isSaturated;
    return !this.#isClosing && this.#queue.length < this.#config.maxPipelined;
  }

  /**
   * The head is in, its body is not: the handler starts now, and the body
   * follows as it arrives, as fast as the handler takes it.
   */
  #dispatchStreaming(request: HttpRequest): void {
    const body = new IncomingBody();
    this.#parser.streamsBody = true;
    const slot = this.#dispatch(request, body);
    this.#receiving = { slot, body };
    const parts = this.#parser.takeBodyParts();
    // RFC 9110 §10.1.1: the 100 goes out when the handler first reads the
    // body, unless the client has started sending it anyway.
    if (request.expectContinue && parts.length === 0) this.#continueSlot = slot;
    body.push(parts);
    body.onDemand = () => this.#onBodyDemand(slot);
  }

  #onBodyDemand(slot: Slot): void {
    if (this.#isEnded) return;
    if (this.#continueSlot === slot) {
      this.#continueSlot = null;
      this.#isContinueOwed = true;
      this.#writeReadyResponses(); // sends it once the responses before it are out
    }
    this.#processRequests();
  }

  /**
   * RFC 9110 §10.1.1: answer 100 (Continue) before reading the body, unless
   * the client has already started sending it. A request that is rejected
   * from its head never gets here: its final status is sent instead.
   */
  #sendContinue(): void {
    if (this.#parser.hasBufferedBytes) return;
    // Interim responses must not overtake earlier pipelined responses: the
    // 100 waits until they are written, and #writeReadyResponses sends it.
    if (this.#queue.length === 0) this.socket.write(CONTINUE);
    else this.#isContinueOwed = true;
  }

  #dispatch(request: HttpRequest, body: IncomingBody | null): Slot {
    this.#requestCount++;
    if (body === null) this.#isContinueOwed = false; // the body is here: no 100 is owed any more
    if (!request.keepAlive || this.#isShuttingDown) this.#isClosing = true;
    const facts = factsOf(request, this.#remoteAddress, this.#host.trustProxy);
    this.#host.observer?.requestStarted?.();
    const exchange = new RequestExchange(facts, body);
    const slot: Slot = { request, response: null, exchange, facts, requestLine: null, startedAt: this.#requestStartedAt, isRecorded: false };
    this.#queue.push(slot);
    let result: HttpResponse | Promise<HttpResponse>;
    const screened = this.#options.screen?.(request) ?? null;
    if (screened !== null) {
      if (screened.close) this.#isClosing = true;
      result = screened.response;
    } else {
      try {
        result = this.#host.handle(request, exchange);
      } catch (err) {
        result = this.#handlerFailed(request, err);
      }
    }
    if (result instanceof Promise) {
      result.then(
        (response) => this.#complete(slot, response),
        (err) => this.#complete(slot, this.#handlerFailed(request, err)),
      );
    } else {
      slot.response = result;
    }
    return slot;
  }

  #complete(slot: Slot, response: HttpResponse): void {
    if (this.#isEnded || slot.response !== null) return; // answered already: its body failed (413, 408)
    slot.response = response;
    this.#writeReadyResponses();
    this.#processRequests();
  }

  #handlerFailed(request: HttpRequest, err: unknown): HttpResponse {
    if (err instanceof HttpError && err.status < 500) return errorResponse(err.status);
    this.#host.log(`spindle: handler failed for "${request.method} ${request.target} HTTP/1.${request.versionMinor}": ${describe(err)}`);
    return errorResponse(err instanceof HttpError ? err.status : 500);
  }

  /**
   * Stops reading and queues a canned error response with Connection: close,
   * after any earlier responses (as Node's socketOnError does).
   */
  #fail(err: unknown): void {
    if (this.#isEnded) return;
    const httpError = err instanceof HttpError ? err : new HttpError(400, 'ERR_BAD_REQUEST', String(err));
    if (!(err instanceof HttpError)) this.#host.log(`spindle: unexpected parser failure: ${describe(err)}`);
    this.#host.observer?.parseError?.(httpError.status);
    this.#isClosing = true;
    const receiving = this.#receiving;
    if (receiving !== null) {
      // The body of a running request failed: its handler's read fails, and
      // the client gets this status if its response has not gone out yet.
      this.#receiving = null;
      receiving.body.fail(httpError);
      if (this.#queue.includes(receiving.slot)) receiving.slot.response = errorResponse(httpError.status);
    } else {
      this.#queue.push({
        request: null, response: errorResponse(httpError.status), exchange: null,
        facts: newFacts(newRequestId()), requestLine: this.#host.observer === null ? null : this.#parser.requestLine,
        startedAt: this.#requestStartedAt, isRecorded: false,
      });
    }
    this.#writeReadyResponses();
    this.#afterProgress();
  }

  /** Writes every response at the head of the queue that is ready, in order. */
  #writeReadyResponses(): void {
    while (this.#queue.length > 0 && this.#streaming === null && !this.#isEnded) {
      const slot = this.#queue[0];
      if (slot.response === null) break;
      this.#queue.shift();
      this.#writeResponse(slot, slot.response);
    }
    const next = this.#queue.length === 0 ? null : this.#queue[0];
    const isNextReceiving = next !== null && next === this.#receiving?.slot;
    if (this.#isContinueOwed && (next === null || isNextReceiving) && this.#streaming === null && !this.#isEnded && (!this.#isClosing || isNextReceiving)) {
      this.#isContinueOwed = false;
      this.socket.write(CONTINUE);
    }
  }

  #writeResponse(slot: Slot, response: HttpResponse): void {
    const request = slot.request;
    const versionMinor = request === null ? 1 : request.versionMinor;
    // The last response before a close says so (RFC 9112 §9.6).
    let keepAlive = request !== null && request.keepAlive && !(this.#isClosing && this.#queue.length === 0);
    const body = response.body;
    const { framing, length } = chooseFraming(response, request !== null && request.method === 'HEAD', versionMinor);
    if (framing === FRAMING_CLOSE) keepAlive = false; // RFC 9112 §6.3: an HTTP/1.0 client reads until close
    const isWhole = body === null || typeof body === 'string' || body instanceof Uint8Array;
    // Answered while its body still arrives (without reading it all): the
    // rest is not read, and the connection closes after this response
    // (RFC 9112 §9.6), as nginx and Node do for a body nobody wanted.
    if (this.#receiving?.slot === slot && (isWhole || framing === FRAMING_NONE)) keepAlive = false;
    let head: string;
    try {
      head = serializeHead(response, {
        versionMinor, keepAlive, framing, contentLength: length, extraHead: this.#options.extraHead, requestId: slot.facts.requestId,
      });
    } catch (err) {
      this.#host.log(`spindle: invalid response${requestLine(request)}: ${describe(err)}`);
      this.#writeResponse(slot, errorResponse(500));
      return;
    }
    if (!keepAlive) this.#isClosing = true;
    if (isWhole) {
      this.#writer.writeWhole(head, body, framing, length);
      this.#finish(slot, framing === FRAMING_LENGTH ? length : 0);
      return;
    }
    this.#writer.write(Buffer.from(head, 'latin1'));
    if (framing === FRAMING_NONE) {
      releaseBody(body);
      this.#finish(slot, 0);
      return;
    }
    void this.#streamBody(slot, body, framing, length);
  }

  /** Writes a streamed body; no other response is written meanwhile. */
  async #streamBody(slot: Slot, body: AsyncIterable<Uint8Array>, framing: Framing, length: number): Promise<void> {
    this.#streaming = slot;
    try {
      if (!(await this.#writer.stream(body, framing, length, () => this.#isEnded))) return;
      if (framing === FRAMING_CLOSE) this.#isClosing = true;
      this.#finish(slot, this.#writer.streamedBytes);
    } catch (err) {
      // The head is gone already; the only honest signal left is to cut the
      // connection, with no last chunk: the client sees a truncated body.
      this.#host.log(`spindle: response body${requestLine(slot.request)} failed after ${this.#writer.streamedBytes} bytes: ${describe(err)}`);
      this.#record(slot, slot.response!.status, this.#writer.streamedBytes);
      this.socket.destroy();
      return;
    } finally {
      if (this.#streaming === slot) this.#streaming = null;
    }
    this.#writeReadyResponses();
    this.#processRequests();
  }

  /** The one place a response is finished: written to its end. */
  #finish(slot: Slot, bodyBytes: number): void {
    this.#record(slot, slot.response!.status, bodyBytes);
    const receiving = this.#receiving;
    if (receiving?.slot === slot) {
      // Its body is not needed any more; what is left of it is discarded.
      this.#receiving = null;
      receiving.body.fail(new Error('the response was sent before the request body was read'));
      this.#isClosing = true;
    }
    slot.exchange?.finish();
  }

  /** Tells the observer, once per request, how it ended. */
  #record(slot: Slot, status: number, bodyBytes: number): void {
    const observer = this.#host.observer;
    if (observer === null || slot.isRecorded) return;
    slot.isRecorded = true;
    observer.requestDone({
      request: slot.request, requestLine: slot.request === null ? slot.requestLine : requestLineOf(slot.request),
      status, bodyBytes, startedAt: slot.startedAt, endedAt: performance.now(),
      remoteAddress: slot.facts.clientAddress ?? this.#remoteAddress, facts: slot.facts,
    });
  }

  /** After any progress: close when done, apply read backpressure, pick the timer. */
  #afterProgress(): void {
    if (this.#isEnded) return;
    const isBusy = this.#queue.length > 0 || this.#streaming !== null;
    const receiving = this.#receiving;
    if (receiving !== null) {
      // A body arriving for a running handler: read while it takes the
      // bytes; its timeout runs only while the client, not the handler, is late.
      const mustPause = receiving.body.isSaturated || this.socket.writableNeedDrain;
      if (mustPause !== this.#isReadPaused) {
        this.#isReadPaused = mustPause;
        if (mustPause) this.socket.pause();
        else this.socket.resume();
      }
      if (mustPause) this.#timer.set(TIMER_NONE, 0, false);
      else this.#timer.set(TIMER_BODY, this.#config.bodyTimeoutMs, true);
      return;
    }
    if (this.#isClosing) {
      if (!isBusy) this.#endSocket();
      else this.#timer.set(TIMER_NONE, 0, false);
      return;
    }
    const mustPause = this.#queue.length >= this.#config.maxPipelined || this.socket.writableNeedDrain;
    if (mustPause !== this.#isReadPaused) {
      this.#isReadPaused = mustPause;
      if (mustPause) this.socket.pause();
      else this.socket.resume();
    }
    const config = this.#config;
    if (isBusy) this.#timer.set(TIMER_NONE, 0, false);
    else if (this.#parser.isIdle) {
      if (!this.#isIdle) {
        this.#isIdle = true;
        this.#idleSince = performance.now();
        this.#host.onConnectionIdle(this);
      }
      if (this.#closesWhenIdle) {
        const left = SHUTDOWN_IDLE_MS - (performance.now() - this.#idleSince);
        if (left <= 0) this.#endSocket();
        else this.#timer.set(TIMER_KEEPALIVE, left, true);
      } else if (this.#requestCount > 0) this.#timer.set(TIMER_KEEPALIVE, config.keepAliveTimeoutMs, true);
    } else if (this.#parser.isReadingHead) this.#timer.set(TIMER_HEADER, config.headerTimeoutMs, false);
    else this.#timer.set(TIMER_BODY, config.bodyTimeoutMs, true);
  }

  /**
   * Ends the socket (FIN) once written, then keeps reading and discarding for
   * a moment so that unread request bytes do not turn the close into a reset
   * that destroys the response in flight (nginx's lingering close).
   */
  #endSocket(): void {
    if (this.#isEnded) return;
    this.#isEnded = true;
    this.#isClosing = true;
    if (this.#isReadPaused) this.socket.resume();
    this.socket.end();
    this.#timer.set(TIMER_LINGER, LINGER_MS, true);
  }
}

function requestLineOf(request: HttpRequest): string {
  return `${request.method} ${request.target} HTTP/1.${request.versionMinor}`;
}

/** ` of "GET / HTTP/1.1"`, for log lines; empty for bytes that did not parse. */
function requestLine(request: HttpRequest | null): string {
  return request === null ? '' : ` of "${requestLineOf(request)}"`;
}

function describe(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}
