// A connection's one timer, which serves several deadlines in turn: the
// header, body, keep-alive and linger timeouts. It is re-armed rather than
// re-created (refresh() restarts it when the duration is unchanged), and an
// expiry of a kind no longer set is ignored: nothing runs per idle
// connection per tick. The fixed deadlines' durations are here too.

export const TIMER_NONE = 0; // a handler is working or a response is being written
export const TIMER_KEEPALIVE = 1; // idle between requests
export const TIMER_HEADER = 2; // receiving a head; not extended by progress (slowloris)
export const TIMER_BODY = 3; // receiving a body; extended by each chunk
export const TIMER_LINGER = 4; // closing: discard what the client still sends, then destroy
export type TimerKind = typeof TIMER_NONE | typeof TIMER_KEEPALIVE | typeof TIMER_HEADER | typeof TIMER_BODY | typeof TIMER_LINGER;

/** how long a closing connection reads and discards what its client still sends */
export const LINGER_MS = 2000;
/**
 * At shutdown, how long a connection must have been idle before it is
 * closed: one that became idle just now may be carrying a request its proxy
 * is sending this moment, which a close would turn into a reset (and nginx
 * into a 502 for a POST). That request is answered, with Connection: close.
 */
export const SHUTDOWN_IDLE_MS = 500;

export interface TimerOwner {
  onTimer(kind: TimerKind): void;
}

export class ConnectionTimer {
  #owner: TimerOwner;
  #timer: NodeJS.Timeout | null = null;
  #kind: TimerKind = TIMER_NONE;
  #ms = 0;

  static #fire(timer: ConnectionTimer): void {
    if (timer.#kind !== TIMER_NONE) timer.#owner.onTimer(timer.#kind);
  }

  constructor(owner: TimerOwner) {
    this.#owner = owner;
  }

  /** Arms the deadline of `kind` in ms; with `restart` false, a deadline of the same kind already running keeps running. */
  set(kind: TimerKind, ms: number, restart: boolean): void {
    if (kind === this.#kind && !restart) return;
    this.#kind = kind;
    if (kind === TIMER_NONE) return;
    if (this.#timer !== null && this.#ms === ms) {
      this.#timer.refresh();
    } else {
      if (this.#timer !== null) clearTimeout(this.#timer);
      this.#timer = setTimeout(ConnectionTimer.#fire, ms, this);
      this.#timer.unref();
      this.#ms = ms;
    }
  }

  clear(): void {
    this.#kind = TIMER_NONE;
    if (this.#timer !== null) clearTimeout(this.#timer);
  }
}
