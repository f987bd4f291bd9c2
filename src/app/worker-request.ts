// Runs inside the worker threads: a `Request` that costs almost nothing until
// the application asks for more than its method, URL, headers or body.
//
// Building undici's Request costs several microseconds, with an AbortSignal
// more than ten: more than the whole rest of a small request. WorkerRequest
// answers the common questions from the job's plain data, and builds the
// native Request only when some other part of the API is touched. Its
// prototype chain includes Request.prototype, so `instanceof Request` holds.
import type { JobContext } from '../pool/job-module.js';
import { receiveRequestBody } from './body-stream.js';
import type { HttpJob } from './http-job.js';
import { delegateToNative } from './native-delegation.js';

const NativeRequest: typeof Request = globalThis.Request;
const EMPTY = new Uint8Array(0);

export class WorkerRequest {
  #job: HttpJob;
  #context: JobContext;
  #headers: Headers | null = null;
  #native: Request | null = null;
  #isBodyUsed = false;

  constructor(job: HttpJob, context: JobContext) {
    this.#job = job;
    this.#context = context;
  }

  /** The native Request, built on first need. */
  static native(request: WorkerRequest): Request {
    if (request.#native === null) {
      const job = request.#job;
      // A native Request cannot carry a GET or HEAD body; the fast readers below can.
      const canHaveBody = job.method !== 'GET' && job.method !== 'HEAD' && !request.#isBodyUsed;
      const port = job.bodyPort;
      let body: ReadableStream<Uint8Array> | Uint8Array | ArrayBuffer | null = null;
      if (port !== undefined) {
        if (canHaveBody) body = receiveRequestBody(port);
        else port.close();
      } else if (canHaveBody) body = job.body;
      request.#native = new NativeRequest(job.url, {
        method: job.method,
        headers: request.headers,
        body,
        signal: request.#context.signal,
        duplex: 'half',
      } as RequestInit);
    }
    return request.#native;
  }

  get method(): string {
    return this.#job.method;
  }

  get url(): string {
    return this.#job.url;
  }

  get headers(): Headers {
    if (this.#native !== null) return this.#native.headers;
    if (this.#headers === null) {
      const headers = new Headers();
      const fields = this.#job.headers;
      for (let i = 0; i < fields.length; i += 2) headers.append(fields[i], fields[i + 1]);
      this.#headers = headers;
    }
    return this.#headers;
  }

  get signal(): AbortSignal {
    return this.#native !== null ? this.#native.signal : this.#context.signal;
  }

  get bodyUsed(): boolean {
    return this.#native !== null ? this.#native.bodyUsed : this.#isBodyUsed;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    if (this.#native !== null || this.#job.bodyPort !== undefined) return WorkerRequest.native(this).arrayBuffer();
    const bytes = this.#takeBody();
    const isWhole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    // A view into a larger (pooled) buffer is copied out: Buffer#slice would not copy.
    return isWhole ? (bytes.buffer as ArrayBuffer) : (Uint8Array.prototype.slice.call(bytes).buffer as ArrayBuffer);
  }

  async bytes(): Promise<Uint8Array> {
    if (this.#native !== null || this.#job.bodyPort !== undefined) return new Uint8Array(await WorkerRequest.native(this).arrayBuffer());
    return this.#takeBody();
  }

  async text(): Promise<string> {
    if (this.#native !== null || this.#job.bodyPort !== undefined) return WorkerRequest.native(this).text();
    return new TextDecoder().decode(this.#takeBody());
  }

  async json(): Promise<unknown> {
    if (this.#native !== null || this.#job.bodyPort !== undefined) return WorkerRequest.native(this).json();
    return JSON.parse(new TextDecoder().decode(this.#takeBody()));
  }

  #takeBody(): Uint8Array {
    if (this.#isBodyUsed) throw new TypeError('Body is unusable: Body has already been read');
    this.#isBodyUsed = true;
    const body = this.#job.body;
    if (body === null) return EMPTY;
    return body instanceof Uint8Array ? body : new Uint8Array(body);
  }
}

// Every other member of Request.prototype (body, clone, formData, cache, ...) is answered by
// the native object; `instanceof` holds through the prototype chain.
delegateToNative(WorkerRequest.prototype, NativeRequest.prototype, WorkerRequest.native);

/**
 * The global `Request` inside workers: the native class, except that it
 * accepts a WorkerRequest as its input (as in `new Request(request, init)`),
 * and `instanceof` holds for both kinds.
 */
export class GlobalRequest extends NativeRequest {
  constructor(input: Request | string | URL, init?: RequestInit) {
    super(input instanceof WorkerRequest ? WorkerRequest.native(input) : input, init);
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return value instanceof NativeRequest;
  }
}

/** The global `fetch` inside workers, which accepts a WorkerRequest too. */
export function createGlobalFetch(nativeFetch: typeof fetch): typeof fetch {
  return (input, init) => nativeFetch(input instanceof WorkerRequest ? WorkerRequest.native(input) : input, init);
}
