// The library API: `import { createServer } from 'spindle'`.
export { createServer, Server, type CloseResult } from './server.js';
export type { ServerOptions } from './config.js';
export type { Handler } from './connection.js';
export type { HttpRequest } from './http/request-parser.js';
export type { HttpResponse, ResponseBody } from './http/response.js';
export { HttpError } from './http/http-error.js';
export { RequestParser, NEED_MORE, HEAD, MESSAGE, DEFAULT_PARSER_LIMITS, type ParserLimits } from './http/request-parser.js';
