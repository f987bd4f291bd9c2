// The built-in demo: the Rust book's routes and a few more, written against
// the engine's own request and response types and answered inline.
import type { HttpRequest } from '../http/request-parser.js';
import type { HttpResponse } from '../http/response.js';
import { getHeader } from '../http/response.js';

import { HELLO_PAGE, NOT_FOUND_PAGE } from './pages.js';

export { HELLO_PAGE };
const HELLO_BYTES = Buffer.from(HELLO_PAGE);
const HTML = 'text/html; charset=utf-8';


export function handleDemo(request: HttpRequest): HttpResponse {
  const path = pathOf(request.path);
  const method = request.method;
  switch (path) {
    case '/':
      if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed('GET, HEAD');
      return { status: 200, headers: ['Content-Type', HTML], body: HELLO_BYTES };
    case '/echo':
      return {
        status: 200,
        headers: ['Content-Type', getHeader(request.headers, 'content-type') ?? 'application/octet-stream'],
        body: request.body,
      };
    default:
      return { status: 404, headers: ['Content-Type', HTML], body: NOT_FOUND_PAGE };
  }
}

export function methodNotAllowed(allow: string): HttpResponse {
  return {
    status: 405,
    headers: ['Allow', allow, 'Content-Type', 'text/plain; charset=utf-8'],
    body: '405 Method Not Allowed\n',
  };
}

/** The path of a target without its query. */
export function pathOf(target: string): string {
  const q = target.indexOf('?');
  return q < 0 ? target : target.slice(0, q);
}
