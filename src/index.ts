// The library API: `import { createServer, ThreadPool } from 'spindle'`.
export { createServer, Server, type CloseResult } from './server.js';
export type { ServerOptions } from './config.js';
export type { Exchange, Handler } from './http/exchange.js';
export type { HttpRequest } from './http/request-parser.js';
export type { HttpResponse, ResponseBody } from './http/response.js';
export { HttpError } from './http/http-error.js';
export { RequestParser, NEED_MORE, HEAD, MESSAGE, DEFAULT_PARSER_LIMITS, type ParserLimits } from './http/request-parser.js';
export {
  ThreadPool, type ThreadPoolOptions, type ExecuteOptions, type PoolStats, type JobTicket, type JobCallback,
} from './pool/thread-pool.js';
export { PoolCreationError, PoolError, JobError, type PoolErrorCode } from './pool/pool-errors.js';
export type { JobContext, JobFunction } from './pool/job-module.js';
export { StaticFiles, type StaticOptions } from './static/static-files.js';
