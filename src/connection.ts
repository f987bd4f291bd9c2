// One socket's life: read bytes → parse → dispatch → write responses in
// request order → keep alive or close. Every socket is owned by exactly one
// Connection, one state object with its handlers beside it, so the
// lifecycle reads on one screen (as in Node's connectionListenerInternal).
//
//   accept ─▶ reading head ─▶ reading body ─▶ dispatched ─▶ response written ─┬─▶ idle (keep-alive) ─▶ reading head …
//                 │                │                                           └─▶ closing ─▶ closed
//                 └──── 4xx, timeout, EOF ──────────────────────────────────────────▶ closing
//
// Its parts: the RequestParser reads; the ResponseQueue (response-queue.ts)
// writes responses in request order; the BodyFeed (body-feed.ts) passes on a
// body that arrives while its handler runs; the ConnectionTimer keeps time.
import type { Socket } from 'node:net';
import { BodyFeed } from './body-feed.js';
import type { ConnectionConfig, ConnectionHost, ConnectionOptions } from './connection-host.js';
import { RequestExchange } from './http/exchange.js';
import { HttpError, describeError } from './http/http-error.js';
import { IncomingBody } from './http/incoming-body.js';
import { HEAD, NEED_MORE, RequestParser, type HttpRequest } from './http/request-parser.js';
import type { HttpResponse } from './http/response.js';
import { factsOf } from './observe/request-record.js';
import { ResponseQueue, type ResponseQueueOwner, type Slot } from './response-queue.js';
import {
  ConnectionTimer, LINGER_MS, SHUTDOWN_IDLE_MS, TIMER_BODY, TIMER_HEADER, TIMER_KEEPALIVE, TIMER_LINGER, TIMER_NONE,
  type TimerKind, type TimerOwner,
} from './connection-timer.js';

const NO_OPTIONS: ConnectionOptions = {};

export class Connection implements TimerOwner, ResponseQueueOwner {
  readonly socket: Socket;
  #host: ConnectionHost;
  #options: ConnectionOptions;
  #config: ConnectionConfig;
  #parser: RequestParser;
  #responses: ResponseQueue;
  #feed = new BodyFeed();
  /** no further request will be read; end the socket once #responses are written */
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
  #isReadPaused = false;
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
    this.#responses = new ResponseQueue(socket, this, this.#feed, host, options.extraHead, this.#remoteAddress);
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
    if (!this.#isEnded && this.#responses.isBusy) this.#isClosing = true;
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
    if ((this.#parser.isIdle && this.#responses.isBusy) || this.#feed.slot !== null) this.#isClosing = true;
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
    if (this.#responses.isBusy || this.#feed.slot !== null) return 'writing';
    return this.#isIdle ? 'idle' : 'reading';
  }

  #onSocketData(chunk: Buffer): void {
    if (this.#isClosing && this.#feed.slot === null) return; // discarding: nothing more will be answered
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
    if (this.#feed.slot !== null) {
      // The body will never be whole: its handler's read fails.
      this.#feed.fail(new Error('the client closed its side before the request body ended'));
      this.#isClosing = true;
    }
    // A streamed body may last hours (server-sent events): a client that
    // ends its side while one is being written has gone, as nginx and hyper
    // take it, and the stream's source is cancelled now, not at the next write.
    if (this.#responses.isStreaming) {
      this.socket.destroy();
      return;
    }
    this.#processRequests();
  }

  #onSocketClose(): void {
    this.#isEnded = true;
    this.#isClosing = true;
    this.#timer.clear();
    this.#responses.abandon();
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
        if (this.#feed.slot !== null) {
          // The body of a request whose handler already runs.
          this.#feed.push(this.#parser.takeBodyParts());
          if (step === NEED_MORE) break;
          this.#feed.end();
          continue;
        }
        const request = this.#parser.request;
        if (step === NEED_MORE) {
          if (this.#hasPeerEnded) this.#isClosing = true;
          else if (this.#parser.isReadingBody && this.#host.streamsRequestBodies) this.#dispatchStreaming(request);
          break;
        }
        if (step === HEAD) {
          // RFC 9110 §10.1.1: answer 100 (Continue) before reading the body,
          // unless the client has already started sending it. A request
          // rejected from its head never gets here: its final status goes instead.
          if (request.expectContinue && !this.#host.streamsRequestBodies && !this.#parser.hasBufferedBytes) this.#responses.sendContinue();
          continue;
        }
        this.#dispatch(request, null);
        this.#responses.writeReady();
      }
    } finally {
      this.#isProcessing = false;
    }
    this.#afterProgress();
  }

  #mayParse(): boolean {
    if (this.socket.writableNeedDrain) return false;
    if (this.#feed.slot !== null) return !this.#feed.isSaturated;
    return !this.#isClosing && this.#responses.waiting < this.#config.maxPipelined;
  }

  /**
   * The head is in, its body is not: the handler starts now, and the body
   * follows as it arrives, as fast as the handler takes it.
   */
  #dispatchStreaming(request: HttpRequest): void {
    const body = new IncomingBody();
    this.#parser.streamsBody = true;
    const slot = this.#dispatch(request, body);
    this.#feed.start(slot, body, this.#parser.takeBodyParts(), request.expectContinue);
    body.onDemand = () => this.#onBodyDemand(slot);
  }

  #onBodyDemand(slot: Slot): void {
    if (this.#isEnded) return;
    if (this.#feed.takeContinue(slot)) this.#responses.oweContinue(slot); // sent once the responses before it are out
    this.#processRequests();
  }

  #dispatch(request: HttpRequest, body: IncomingBody | null): Slot {
    this.#requestCount++;
    if (body === null) this.#responses.forgetContinue(); // the body is here: no 100 is owed any more
    if (!request.keepAlive || this.#isShuttingDown) this.#isClosing = true;
    const facts = factsOf(request, this.#remoteAddress, this.#host.trustProxy);
    this.#host.observer?.requestStarted?.();
    const exchange = new RequestExchange(facts, body);
    const slot = this.#responses.add(request, exchange, facts, this.#requestStartedAt);
    let result: HttpResponse | Promise<HttpResponse>;
    const screened = this.#options.screen?.(request) ?? null;
    if (screened !== null) {
      if (screened.close) this.#isClosing = true;
      result = screened.response;
    } else {
      try {
        result = this.#host.handle(request, exchange);
      } catch (err) {
        result = this.#responses.handlerFailed(request, err);
      }
    }
    this.#responses.answer(slot, result);
    return slot;
  }

  /**
   * Stops reading and queues a canned error response with Connection: close,
   * after any earlier responses (as Node's socketOnError does).
   */
  #fail(err: unknown): void {
    if (this.#isEnded) return;
    const httpError = err instanceof HttpError ? err : new HttpError(400, 'ERR_BAD_REQUEST', String(err));
    if (!(err instanceof HttpError)) this.#host.log(`spindle: unexpected parser failure: ${describeError(err)}`);
    this.#host.observer?.parseError?.(httpError.status);
    this.#isClosing = true;
    this.#responses.answerError(httpError, this.#host.observer === null ? null : this.#parser.requestLine, this.#requestStartedAt);
    this.#afterProgress();
  }

  // ─── what the ResponseQueue asks of its connection (ResponseQueueOwner) ───

  get isClosing(): boolean {
    return this.#isClosing;
  }

  get isEnded(): boolean {
    return this.#isEnded;
  }

  closeAfterResponses(): void {
    this.#isClosing = true;
  }

  endNow(): void {
    this.#endSocket();
  }

  onQueueProgress(): void {
    this.#processRequests();
  }

  /** After any progress: close when done, apply read backpressure, pick the timer. */
  #afterProgress(): void {
    if (this.#isEnded) return;
    const isBusy = this.#responses.isBusy;
    if (this.#feed.slot !== null) {
      // A body arriving for a running handler: read while it takes the
      // bytes; its timeout runs only while the client, not the handler, is late.
      const mustPause = this.#feed.isSaturated || this.socket.writableNeedDrain;
      this.#pauseReading(mustPause);
      if (mustPause) this.#timer.set(TIMER_NONE, 0, false);
      else this.#timer.set(TIMER_BODY, this.#config.bodyTimeoutMs, true);
      return;
    }
    if (this.#isClosing) {
      if (!isBusy) this.#endSocket();
      else this.#timer.set(TIMER_NONE, 0, false);
      return;
    }
    this.#pauseReading(this.#responses.waiting >= this.#config.maxPipelined || this.socket.writableNeedDrain);
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

  /** Read backpressure: stops reading the socket, or starts again. */
  #pauseReading(mustPause: boolean): void {
    if (mustPause === this.#isReadPaused) return;
    this.#isReadPaused = mustPause;
    if (mustPause) this.socket.pause();
    else this.socket.resume();
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
