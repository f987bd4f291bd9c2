// A connection's responses, in request order. Each request the connection
// dispatches takes a slot at the back; its handler answers whenever it
// finishes, and responses leave from the front only, so pipelined requests
// are answered in order even when their handlers finish out of order
// (RFC 9112 §9.3.2). A 100 (Continue) waits its turn here too.
//
//   dispatch ─▶ [ slot · slot · slot ] ─▶ front ready? ─▶ ResponseWriter ─▶ socket
//                 answered in any order       │
//                                             └─ a streamed body holds the front until its last byte
//
// The writer knows how each framing goes on the wire; this decides which
// response goes next and whether it keeps the connection open, finishes each
// exchange, and tells the observer how each request ended.
import type { Socket } from 'node:net';
import type { RequestExchange } from './http/exchange.js';
import { HttpError, describeError } from './http/http-error.js';
import type { HttpRequest } from './http/request-parser.js';
import {
  FRAMING_CLOSE, FRAMING_LENGTH, FRAMING_NONE, chooseFraming, errorResponse, isWholeBody, serializeHead,
  type Framing, type HttpResponse,
} from './http/response.js';
import { newRequestId } from './http/request-id.js';
import { newFacts, type RequestFacts, type RequestObserver } from './observe/request-record.js';
import { ResponseWriter, releaseBody } from './response-writer.js';

/** One request's place in the queue. */
export interface Slot {
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

/** What the queue asks of its connection (the Connection itself, as with its timer). */
export interface ResponseQueueOwner {
  /** no further request will be read: the last response says Connection: close */
  readonly isClosing: boolean;
  /** the socket has been ended or destroyed: nothing more goes out */
  readonly isEnded: boolean;
  /** a response closes the connection: it said Connection: close, or its body runs until the close */
  closeAfterResponses(): void;
  /** a close-delimited body has ended: end the socket now, before anything queued behind it */
  endNow(): void;
  /** a handler answered or a streamed body ended: the connection may read on */
  onQueueProgress(): void;
}

/** The request body still arriving for a running handler (the connection's BodyFeed). */
export interface ReceivingBody {
  /** its request's slot; null when no body is arriving */
  readonly slot: Slot | null;
  /** fails the body, if one is arriving */
  fail(err: Error): void;
}

/** What the queue reads of its server. */
export interface ResponseQueueHost {
  readonly config: { readonly sendTimeoutMs: number };
  readonly observer: RequestObserver | null;
  log(message: string): void;
}

/** nginx's status for a request whose client left before its response began */
const CLIENT_GONE = 499;
const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');

export class ResponseQueue {
  #socket: Socket;
  #owner: ResponseQueueOwner;
  #receiving: ReceivingBody;
  #host: ResponseQueueHost;
  /** header lines added to every response (HSTS), already serialized */
  #extraHead: string | undefined;
  /** the peer's address, for the observer: '-' without one */
  #remoteAddress: string;
  #writer: ResponseWriter;
  #slots: Slot[] = [];
  /** the response whose streamed body is being written, ahead of #slots */
  #streaming: Slot | null = null;
  /** a 100 Continue is owed to the request being received, held back behind earlier responses */
  #isContinueOwed = false;

  constructor(socket: Socket, owner: ResponseQueueOwner, receiving: ReceivingBody, host: ResponseQueueHost, extraHead: string | undefined, remoteAddress: string) {
    this.#socket = socket;
    this.#owner = owner;
    this.#receiving = receiving;
    this.#host = host;
    this.#extraHead = extraHead;
    this.#remoteAddress = remoteAddress;
    this.#writer = new ResponseWriter(socket, host.config.sendTimeoutMs);
  }

  /** a response waits to be written, or is being written */
  get isBusy(): boolean {
    return this.#slots.length > 0 || this.#streaming !== null;
  }

  /** a streamed body is being written */
  get isStreaming(): boolean {
    return this.#streaming !== null;
  }

  /** requests dispatched and not yet written, the one streaming aside */
  get waiting(): number {
    return this.#slots.length;
  }

  /** Takes a slot at the back for a request handed to its handler. */
  add(request: HttpRequest, exchange: RequestExchange, facts: RequestFacts, startedAt: number): Slot {
    const slot: Slot = { request, response: null, exchange, facts, requestLine: null, startedAt, isRecorded: false };
    this.#slots.push(slot);
    return slot;
  }

  /**
   * A request failed as it was read (a parse error, 413, 408): the one whose
   * body was arriving gets err's status if its response has not gone out,
   * its handler's read failing; bytes that did not parse get a canned answer
   * behind the earlier responses. requestLine: of those bytes, if they got that far.
   */
  answerError(err: HttpError, requestLine: string | null, startedAt: number): void {
    const receiving = this.#receiving.slot;
    if (receiving !== null) {
      this.#receiving.fail(err);
      if (this.#slots.includes(receiving)) receiving.response = errorResponse(err.status);
    } else {
      const facts = newFacts(newRequestId());
      this.#slots.push({ request: null, response: errorResponse(err.status), exchange: null, facts, requestLine, startedAt, isRecorded: false });
    }
    this.writeReady();
  }

  /** Takes the handler's answer to slot: now, or once its promise settles. */
  answer(slot: Slot, result: HttpResponse | Promise<HttpResponse>): void {
    if (result instanceof Promise) {
      result.then(
        (response) => this.#complete(slot, response),
        (err) => this.#complete(slot, this.handlerFailed(slot.request!, err)),
      );
    } else {
      slot.response = result;
    }
  }

  #complete(slot: Slot, response: HttpResponse): void {
    if (this.#owner.isEnded || slot.response !== null) return; // answered already: its body failed (413, 408)
    slot.response = response;
    this.writeReady();
    this.#owner.onQueueProgress();
  }

  /** slot's response is made ready for its turn, which has come: written once it is. */
  #prepare(slot: Slot, prepare: () => Promise<HttpResponse>): void {
    slot.response = null;
    const ready = (response: HttpResponse): void => {
      // The client left meanwhile, or a failure of its body (413, 408) answered it.
      const body = response.body;
      const isUnwanted = this.#owner.isEnded || slot.response !== null;
      if (!isUnwanted) this.#complete(slot, response.prepare === undefined ? response : { ...response, prepare: undefined }); // prepared once
      else if (!isWholeBody(body)) releaseBody(body);
    };
    prepare().then(ready, (err) => ready(this.handlerFailed(slot.request!, err)));
  }

  /** The answer to a request whose handler threw or rejected with err. */
  handlerFailed(request: HttpRequest, err: unknown): HttpResponse {
    if (err instanceof HttpError && err.status < 500) return errorResponse(err.status);
    this.#host.log(`spindle: handler failed for "${requestLineOf(request)}": ${describeError(err)}`);
    return errorResponse(err instanceof HttpError ? err.status : 500);
  }

  /**
   * RFC 9110 §10.1.1: a 100 (Continue) for a request whose body is gathered
   * before its handler runs. Interim responses must not overtake earlier
   * pipelined responses: behind them, it waits until they are written.
   */
  sendContinue(): void {
    if (this.#slots.length === 0 && this.#streaming === null) this.#socket.write(CONTINUE);
    else this.#isContinueOwed = true;
  }

  /**
   * slot, the request being received, is owed its 100 (Continue): it goes
   * out once the responses before it are out, and never once slot's own
   * response has begun.
   */
  oweContinue(slot: Slot): void {
    if (!this.#slots.includes(slot)) return;
    this.#isContinueOwed = true;
    this.writeReady();
  }

  /** The body came without a 100 (Continue): none is owed any more. */
  forgetContinue(): void {
    this.#isContinueOwed = false;
  }

  /** Writes every response at the front that is ready, in order. */
  writeReady(): void {
    const owner = this.#owner;
    while (this.#slots.length > 0 && this.#streaming === null && !owner.isEnded) {
      const slot = this.#slots[0];
      const response = slot.response;
      if (response === null) break;
      if (response.prepare !== undefined) {
        this.#prepare(slot, response.prepare);
        break;
      }
      this.#slots.shift();
      this.#writeResponse(slot, response);
    }
    if (!this.#isContinueOwed) return;
    const next = this.#slots.length === 0 ? null : this.#slots[0];
    const isNextReceiving = next !== null && next === this.#receiving.slot;
    if ((next === null || isNextReceiving) && this.#streaming === null && !owner.isEnded && (!owner.isClosing || isNextReceiving)) {
      this.#isContinueOwed = false;
      this.#socket.write(CONTINUE);
    }
  }

  /**
   * The socket has closed: the client is gone for every response not
   * finished, the body being received fails, and the observer learns of each.
   */
  abandon(): void {
    const streaming = this.#streaming;
    if (streaming !== null) {
      streaming.exchange?.clientGone();
      // Its head went out: the log has its status and the bytes that did.
      this.#record(streaming, streaming.response!.status, this.#writer.streamedBytes);
    }
    this.#streaming = null;
    // An Error costs its stack trace: made only when a body is arriving, not at every close.
    if (this.#receiving.slot !== null) this.#receiving.fail(new Error('the client went away before the request body ended'));
    for (const slot of this.#slots) {
      slot.exchange?.clientGone();
      if (slot.request !== null) this.#record(slot, CLIENT_GONE, 0);
    }
    this.#slots.length = 0;
  }

  #writeResponse(slot: Slot, response: HttpResponse): void {
    const request = slot.request;
    const versionMinor = request === null ? 1 : request.versionMinor;
    // The last response before a close says so (RFC 9112 §9.6).
    let keepAlive = request !== null && request.keepAlive && !(this.#owner.isClosing && this.#slots.length === 0);
    const body = response.body;
    const { framing, length } = chooseFraming(response, request !== null && request.method === 'HEAD', versionMinor);
    if (framing === FRAMING_CLOSE) keepAlive = false; // RFC 9112 §6.3: an HTTP/1.0 client reads until close
    const isWhole = isWholeBody(body);
    // Answered while its body still arrives (without reading it all): the
    // rest is not read, and the connection closes after this response
    // (RFC 9112 §9.6), as nginx and Node do for a body nobody wanted.
    if (this.#receiving.slot === slot) {
      if (isWhole || framing === FRAMING_NONE) keepAlive = false;
      // Its final head goes out now: a 100 (Continue) after it would be read as the next response.
      this.#isContinueOwed = false;
    }
    let head: string;
    try {
      head = serializeHead(response, {
        versionMinor, keepAlive, framing, contentLength: length, extraHead: this.#extraHead, requestId: slot.facts.requestId,
      });
    } catch (err) {
      this.#host.log(`spindle: invalid response${requestLine(request)}: ${describeError(err)}`);
      this.#writeResponse(slot, errorResponse(500));
      return;
    }
    if (!keepAlive) this.#owner.closeAfterResponses();
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
    const owner = this.#owner;
    this.#streaming = slot;
    try {
      if (!(await this.#writer.stream(body, framing, length, () => owner.isEnded))) return;
      this.#finish(slot, this.#writer.streamedBytes);
      if (framing === FRAMING_CLOSE) {
        // The close is this body's end: a response queued behind it would be
        // read as more of it. Those requests go unanswered, as if the client left.
        owner.endNow();
        return;
      }
    } catch (err) {
      // The head is gone already; the only honest signal left is to cut the
      // connection, with no last chunk: the client sees a truncated body.
      this.#host.log(`spindle: response body${requestLine(slot.request)} failed after ${this.#writer.streamedBytes} bytes: ${describeError(err)}`);
      this.#record(slot, slot.response!.status, this.#writer.streamedBytes);
      this.#socket.destroy();
      return;
    } finally {
      if (this.#streaming === slot) this.#streaming = null;
    }
    this.writeReady();
    owner.onQueueProgress();
  }

  /** The one place a response is finished: written to its end. */
  #finish(slot: Slot, bodyBytes: number): void {
    this.#record(slot, slot.response!.status, bodyBytes);
    if (this.#receiving.slot === slot) {
      // Its body is not needed any more; what is left of it is discarded.
      this.#receiving.fail(new Error('the response was sent before the request body was read'));
      this.#owner.closeAfterResponses();
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
}

function requestLineOf(request: HttpRequest): string {
  return `${request.method} ${request.target} HTTP/1.${request.versionMinor}`;
}

/** ` of "GET / HTTP/1.1"`, for log lines; empty for bytes that did not parse. */
function requestLine(request: HttpRequest | null): string {
  return request === null ? '' : ` of "${requestLineOf(request)}"`;
}
