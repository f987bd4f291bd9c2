// Access log lines: nginx's "combined" format byte for byte, or one JSON
// object per line. Every field a client controls is escaped, so no request
// can split a line or forge one.
//
//   combined  $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"
import type { HttpRequest } from '../http/request-parser.js';
import type { RequestRecord } from './request-record.js';

export type LogFormat = 'combined' | 'json';

const HEX = '0123456789ABCDEF';

/**
 * nginx's ngx_http_log_escape: `"`, `\`, control characters and every byte
 * from 0x7f up become \xHH (upper-case hex). Field values are latin1
 * strings here, one character per byte as it came off the wire.
 */
export function escapeNginx(text: string): string {
  let out = '';
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c) continue;
    out += text.slice(start, i);
    // A character beyond latin1 (an application's header) goes as its UTF-8 bytes.
    for (const byte of c <= 0xff ? [c] : Buffer.from(text[i], 'utf8')) out += `\\x${HEX[byte >> 4]}${HEX[byte & 15]}`;
    start = i + 1;
  }
  return start === 0 ? text : out + text.slice(start);
}

/** The first value of a request header, or undefined. */
function requestHeader(request: HttpRequest, lowerName: string): string | undefined {
  const headers = request.headers;
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === lowerName) return headers[i + 1];
  return undefined;
}

/** `-`, or the field escaped; an empty value is `-` too, as nginx logs it. */
function field(value: string | undefined): string {
  return value === undefined || value === '' ? '-' : escapeNginx(value);
}

/** The user of Basic authentication (nginx's $remote_user), else undefined. */
function remoteUser(request: HttpRequest): string | undefined {
  const authorization = requestHeader(request, 'authorization');
  const m = authorization === undefined ? null : /^basic[ \t]+([A-Za-z0-9+/]+=*)[ \t]*$/i.exec(authorization);
  if (m === null) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('latin1');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(0, colon);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
let cachedSecond = -1;
let cachedTimeLocal = '';

/** nginx's $time_local, "03/Dec/2026:13:55:01 +0000", in the server's time zone; made once a second. */
export function timeLocal(now: number): string {
  const second = Math.floor(now / 1000);
  if (second !== cachedSecond) {
    const date = new Date(second * 1000);
    const offset = -date.getTimezoneOffset();
    const abs = Math.abs(offset);
    const zone = `${offset < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`;
    cachedTimeLocal = `${pad(date.getDate())}/${MONTHS[date.getMonth()]}/${date.getFullYear()}:` +
      `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())} ${zone}`;
    cachedSecond = second;
  }
  return cachedTimeLocal;
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

export function formatCombined(record: RequestRecord, now: number): string {
  const request = record.request;
  const line = record.requestLine === null ? '-' : escapeNginx(record.requestLine);
  const user = request === null ? '-' : field(remoteUser(request));
  const referer = request === null ? '-' : field(requestHeader(request, 'referer'));
  const agent = request === null ? '-' : field(requestHeader(request, 'user-agent'));
  return `${record.remoteAddress} - ${user} [${timeLocal(now)}] "${line}" ${record.status} ${record.bodyBytes} "${referer}" "${agent}"\n`;
}

/** Milliseconds with microseconds kept: 1.234 */
function ms(value: number): number {
  return Math.round(value * 1000) / 1000;
}

export function formatJson(record: RequestRecord, now: number): string {
  const request = record.request;
  const facts = record.facts;
  const entry: Record<string, string | number | null> = {
    time: new Date(now).toISOString(),
    remote_addr: record.remoteAddress,
    method: request?.method ?? null,
    target: request?.target ?? null,
    version: request === null ? null : `HTTP/1.${request.versionMinor}`,
    request_line: record.requestLine,
    status: record.status,
    body_bytes_sent: record.bodyBytes,
    request_time_ms: ms(record.endedAt - record.startedAt),
    queue_ms: facts === null || facts.queueMs < 0 ? null : ms(facts.queueMs),
    run_ms: facts === null || facts.runMs < 0 ? null : ms(facts.runMs),
    worker: facts === null || facts.workerId < 0 ? null : facts.workerId,
    answered_by: facts?.answeredBy ?? 'builtin',
    request_id: facts?.requestId ?? null,
    user_agent: request === null ? null : requestHeader(request, 'user-agent') ?? null,
    referer: request === null ? null : requestHeader(request, 'referer') ?? null,
  };
  // JSON.stringify escapes quotes, backslashes and control characters: a line stays one line.
  return JSON.stringify(entry) + '\n';
}

export function formatter(format: LogFormat): (record: RequestRecord, now: number) => string {
  return format === 'json' ? formatJson : formatCombined;
}
