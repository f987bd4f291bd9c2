// The messages of one HTTP exchange between the I/O thread and a worker:
// plain data plus transferred body bytes. Imported by both sides.

/** A request, as the worker needs it to build a fetch `Request`. */
export interface HttpJob {
  method: string;
  /** absolute URL: scheme, Host, path and query */
  url: string;
  /** header fields in order, flat: lower-cased name, value, ... (repeated fields kept) */
  headers: string[];
  /** the body, moved to the worker; null when the request has none */
  body: ArrayBuffer | null;
}

/** A response, as the worker read it from the application's `Response`. */
export interface HttpJobResult {
  status: number;
  /** header fields, flat: name, value, ... (Set-Cookie kept apart per cookie) */
  headers: string[];
  /** the body: text (sent as UTF-8), or byte parts in order moved to the I/O thread, or null */
  body: string | ArrayBuffer[] | null;
}

/** What each worker's app module setup receives. */
export interface AppSetup {
  /** URL of the application module */
  appModule: string;
}
