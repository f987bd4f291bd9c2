// A connection's request body that arrives while its handler already runs
// (an application's request is dispatched as soon as its head is in). The
// parser hands out the body's parts as it parses them; the feed passes them
// on to the exchange's IncomingBody, which delivers them within the credit
// its consumer grants, and holds the 100 (Continue) a client asked for until
// the handler first reads the body (RFC 9110 §10.1.1).
//
//   head in ─▶ start ─▶ push … push ─▶ end    the body is whole
//                              └─────▶ fail   413 or 408, the client left, or the response went out first
//
// While parts wait without credit (isSaturated) the connection stops reading
// the socket, so a consumer that reads slowly slows the client through TCP.
// The connection owns one feed; it holds a body only while one arrives.
import type { IncomingBody } from './http/incoming-body.js';
import type { Slot } from './response-queue.js';

export class BodyFeed {
  #slot: Slot | null = null;
  #body: IncomingBody | null = null;
  /** the request owed a 100 (Continue) once its handler reads the body */
  #continueSlot: Slot | null = null;

  /** the request whose handler runs while its body is still arriving; null when none is */
  get slot(): Slot | null {
    return this.#slot;
  }

  /** parts wait that the handler has not asked for: stop reading */
  get isSaturated(): boolean {
    return this.#body !== null && this.#body.isSaturated;
  }

  /** slot's handler runs and its body follows, starting with the parts the parser has already. */
  start(slot: Slot, body: IncomingBody, parts: Buffer[], expectsContinue: boolean): void {
    this.#slot = slot;
    this.#body = body;
    // RFC 9110 §10.1.1: the 100 goes out when the handler first reads the
    // body, unless the client has started sending it anyway.
    if (expectsContinue && parts.length === 0) this.#continueSlot = slot;
    body.push(parts);
  }

  /** More of the body, as parsed. */
  push(parts: Buffer[]): void {
    if (parts.length > 0 && this.#continueSlot === this.#slot) this.#continueSlot = null; // it came unasked
    this.#body!.push(parts);
  }

  /** The body is whole. */
  end(): void {
    const body = this.#body!;
    this.#slot = this.#body = null;
    body.end();
  }

  /** The body will not be whole: its handler's read fails with err. Nothing when no body is arriving. */
  fail(err: Error): void {
    const body = this.#body;
    if (body === null) return;
    this.#slot = this.#body = null;
    body.fail(err);
  }

  /** True once, when the handler of the request owed a 100 (Continue) first asks for its body. */
  takeContinue(slot: Slot): boolean {
    if (this.#continueSlot !== slot) return false;
    this.#continueSlot = null;
    return true;
  }
}
