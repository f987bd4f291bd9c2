// Runs inside the worker threads: the global `Response` there. It keeps what
// the application passed (body and init) and builds undici's native Response
// only when the application uses more than status and headers. For the
// common bodies (string, bytes, none) the pool sends the response without
// ever building it: a native Response wraps even a string in a
// ReadableStream, which costs more than the rest of a small request.
// `instanceof Response` holds for both kinds.

import { delegateToNative } from './native-delegation.js';
type BodyInit = ConstructorParameters<typeof Response>[0];

const NativeResponse = globalThis.Response;
/** RFC 9110 §15: statuses whose responses have no content */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/** A body WorkerResponse can send as it is. */
export type PlainBody = string | ArrayBuffer | ArrayBufferView | null;

/** The parts of a response the pool sends, when it never needed a native Response. */
export interface PlainResponse {
  status: number;
  headers: string[];
  body: PlainBody;
}

function isPlainBody(body: unknown): body is PlainBody {
  return body === null || typeof body === 'string' || body instanceof ArrayBuffer || ArrayBuffer.isView(body);
}

export class WorkerResponse {
  #body: PlainBody;
  #init: ResponseInit | undefined;
  #headers: Headers | null = null;
  #native: Response | null = null;
  /** the application gave a stream (or an async iterable) as the body */
  #isStream = false;

  constructor(body?: BodyInit | null, init?: ResponseInit) {
    const status = init?.status;
    if (status !== undefined && (!Number.isInteger(status) || status < 200 || status > 599)) {
      throw new RangeError(`init["status"] must be in the range of 200 to 599, inclusive; got ${String(status)}`);
    }
    const plain = body ?? null;
    this.#init = init;
    this.#body = null;
    if (!isPlainBody(plain)) {
      // Streams, Blobs, FormData, URLSearchParams: the native class knows them best.
      this.#native = new NativeResponse(plain, init);
      this.#isStream = plain instanceof ReadableStream || (typeof plain === 'object' && Symbol.asyncIterator in plain);
      return;
    }
    if (plain !== null && status !== undefined && NULL_BODY_STATUSES.has(status)) {
      throw new TypeError(`Response with null body status ${status} cannot have a body`);
    }
    this.#body = plain;
  }

  /** The native Response, built on first need. */
  static native(response: WorkerResponse): Response {
    if (response.#native === null) {
      const init = response.#init;
      response.#native = new NativeResponse(response.#body as BodyInit | null, {
        status: init?.status,
        statusText: init?.statusText,
        headers: response.#headers ?? init?.headers,
      });
    }
    return response.#native;
  }

  /**
   * Whether the body is to be streamed to the client as it is produced: the
   * application gave a stream, or the response came from elsewhere (an
   * upstream fetch). Blobs, FormData and the like are read whole.
   */
  static isStream(response: Response): boolean {
    if (response.body === null) return false;
    return !(#native in response) || (response as unknown as WorkerResponse).#isStream;
  }

  /**
   * The status, headers and body as given, or null once a native Response
   * exists (its body may have been read or be a stream), or when `response`
   * is a native Response itself.
   */
  static plain(response: WorkerResponse): PlainResponse | null {
    // A native Response (from Response.redirect(), Response.error() or fetch())
    // passes `instanceof WorkerResponse` too, but has none of our fields.
    if (!(#native in response) || response.#native !== null) return null;
    const headers: string[] = [];
    let hasContentType = false;
    const source = response.#headers ?? response.#init?.headers;
    if (source instanceof Headers) {
      for (const [name, value] of source) {
        if (name === 'set-cookie') continue;
        if (name === 'content-type') hasContentType = true;
        headers.push(name, value);
      }
      for (const cookie of source.getSetCookie()) headers.push('set-cookie', cookie);
    } else if (Array.isArray(source)) {
      for (const [name, value] of source as [string, string][]) {
        if (!hasContentType && name.toLowerCase() === 'content-type') hasContentType = true;
        headers.push(name, String(value));
      }
    } else if (source !== undefined && source !== null) {
      const record = source as Record<string, string>;
      for (const name in record) {
        if (!hasContentType && name.toLowerCase() === 'content-type') hasContentType = true;
        headers.push(name, String(record[name]));
      }
    }
    const body = response.#body;
    // Fetch's extract-a-body: a string body is text/plain unless told otherwise.
    if (typeof body === 'string' && !hasContentType) headers.push('content-type', 'text/plain;charset=UTF-8');
    return { status: response.#init?.status ?? 200, headers, body };
  }

  get status(): number {
    return this.#native !== null ? this.#native.status : (this.#init?.status ?? 200);
  }

  get ok(): boolean {
    const status = this.status;
    return status >= 200 && status <= 299;
  }

  get statusText(): string {
    return this.#native !== null ? this.#native.statusText : (this.#init?.statusText ?? '');
  }

  get headers(): Headers {
    if (this.#native !== null) return this.#native.headers;
    if (this.#headers === null) {
      const headers = new Headers(this.#init?.headers);
      if (typeof this.#body === 'string' && !headers.has('content-type')) headers.set('content-type', 'text/plain;charset=UTF-8');
      this.#headers = headers;
    }
    return this.#headers;
  }

  static json(data: unknown, init?: ResponseInit): WorkerResponse {
    const headers = new Headers(init?.headers);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    return new WorkerResponse(JSON.stringify(data), { ...init, headers });
  }

  static error(): Response {
    return NativeResponse.error();
  }

  static redirect(url: string | URL, status?: number): Response {
    return NativeResponse.redirect(url, (status ?? 302) as 302);
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    return value instanceof NativeResponse;
  }
}

// Every other member of Response.prototype (body, text, clone, type, ...) is answered by
// the native object; `instanceof` holds through the prototype chain.
delegateToNative(WorkerResponse.prototype, NativeResponse.prototype, WorkerResponse.native);
