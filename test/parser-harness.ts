// The table-driven harness behind the parser's unit tests. Each case is raw
// request bytes and the outcome they earn. Every case is fed to a fresh
// RequestParser whole, split in two at every offset, and one byte at a time,
// and every feed must give the same outcome: a parser that answers differently
// depending on how TCP cut the stream is a request-smuggling bug.
//
// Not a test file itself (no .test. in its name), so `node --test` never runs it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpError } from '../src/http/http-error.js';
import {
  DEFAULT_PARSER_LIMITS,
  HEAD,
  NEED_MORE,
  RequestParser,
  type HttpRequest,
  type ParserLimits,
} from '../src/http/request-parser.js';

/** An HttpRequest as a test states it: the body as a latin1 string. */
export interface RequestSummary {
  method: string;
  target: string;
  path: string;
  versionMinor: number;
  headers: string[];
  authority: string;
  keepAlive: boolean;
  expectContinue: boolean;
  contentLength: number;
  body: string;
  trailers: string[];
  /** whether advance() reported HEAD before this MESSAGE */
  hadHead: boolean;
}

export interface ParseOutcome {
  /** the requests advance() completed with MESSAGE, in order */
  requests: RequestSummary[];
  /** a request advance() reported with HEAD whose body has not all arrived */
  pendingHead: RequestSummary | null;
  error: { status: number; code: string } | null;
  /** parser.isIdle once every byte is fed (false after an error) */
  isIdle: boolean;
}

export interface ParserCase {
  /** the behaviour, as the test is named */
  name: string;
  /** raw bytes; a string is read as latin1, one character per byte */
  input: string | Buffer;
  /** overrides of DEFAULT_PARSER_LIMITS */
  limits?: Partial<ParserLimits>;
  /** the requests expected, in order; only the fields given are compared */
  requests?: Partial<RequestSummary>[];
  /** a request whose head is parsed but whose body is still awaited (or failed) */
  pendingHead?: Partial<RequestSummary>;
  /** the HttpError the bytes earn, after the requests before it */
  error?: { status: number; code: string };
  /** defaults to true when neither an error nor a pending head is expected */
  isIdle?: boolean;
}

/** Defines one node:test test per case. */
export function testParserCases(cases: ParserCase[]): void {
  for (const c of cases) test(c.name, () => assertParsesAtEverySplit(c));
}

/**
 * Checks the case's expected outcome on the whole input, then checks that
 * every split in two and the byte-at-a-time feed give that same outcome.
 */
export function assertParsesAtEverySplit(c: ParserCase): void {
  const bytes = typeof c.input === 'string' ? Buffer.from(c.input, 'latin1') : c.input;
  const limits: ParserLimits = { ...DEFAULT_PARSER_LIMITS, ...c.limits };
  const whole = parseChunks([bytes], limits);
  assertOutcomeMatches(whole, c);
  for (let offset = 1; offset < bytes.length; offset++) {
    const split = parseChunks([bytes.subarray(0, offset), bytes.subarray(offset)], limits);
    assert.deepEqual(split, whole, `${c.name}: split at byte ${offset} differs from the whole input`);
  }
  const bytewise: Buffer[] = [];
  for (let i = 0; i < bytes.length; i++) bytewise.push(bytes.subarray(i, i + 1));
  assert.deepEqual(parseChunks(bytewise, limits), whole, `${c.name}: one byte at a time differs from the whole input`);
}

/**
 * Drives a parser the way a connection does: push each chunk, then advance()
 * until NEED_MORE; stop at the first HttpError.
 */
export function parseChunks(chunks: Buffer[], limits: ParserLimits = DEFAULT_PARSER_LIMITS): ParseOutcome {
  const parser = new RequestParser(limits);
  const outcome: ParseOutcome = { requests: [], pendingHead: null, error: null, isIdle: false };
  try {
    for (const chunk of chunks) {
      parser.push(chunk);
      for (let step = parser.advance(); step !== NEED_MORE; step = parser.advance()) {
        const request = parser.request;
        if (step === HEAD) {
          // The parser's contract: HEAD once, and only for a message with a body.
          assert.equal(outcome.pendingHead, null, 'HEAD reported twice for one message');
          assert.notEqual(request.contentLength, 0, 'HEAD reported for a message without a body');
          outcome.pendingHead = summarizeRequest(request, true);
          continue;
        }
        const hadHead = outcome.pendingHead !== null;
        assert.equal(hadHead, request.contentLength !== 0, 'a message has HEAD exactly when it has a body');
        outcome.requests.push(summarizeRequest(request, hadHead));
        outcome.pendingHead = null;
      }
    }
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    outcome.error = { status: err.status, code: err.code };
    return outcome;
  }
  outcome.isIdle = parser.isIdle;
  return outcome;
}

function summarizeRequest(request: HttpRequest, hadHead: boolean): RequestSummary {
  return {
    method: request.method,
    target: request.target,
    path: request.path,
    versionMinor: request.versionMinor,
    headers: [...request.headers],
    authority: request.authority,
    keepAlive: request.keepAlive,
    expectContinue: request.expectContinue,
    contentLength: request.contentLength,
    body: request.body.toString('latin1'),
    trailers: [...request.trailers],
    hadHead,
  };
}

function assertOutcomeMatches(actual: ParseOutcome, c: ParserCase): void {
  assert.deepEqual(actual.error, c.error ?? null, `${c.name}: error`);
  const expected = c.requests ?? [];
  assert.equal(actual.requests.length, expected.length, `${c.name}: number of requests`);
  expected.forEach((request, i) => assertRequestMatches(actual.requests[i], request, `${c.name}: request ${i}`));
  if (c.pendingHead === undefined) {
    // A body that fails after its HEAD leaves that head pending; an error
    // case states it only when it matters.
    if (c.error === undefined) assert.equal(actual.pendingHead, null, `${c.name}: no head should await its body`);
  } else {
    assert.notEqual(actual.pendingHead, null, `${c.name}: a head should await its body`);
    assertRequestMatches(actual.pendingHead!, c.pendingHead, `${c.name}: pending head`);
  }
  const isIdle = c.isIdle ?? (c.error === undefined && c.pendingHead === undefined);
  assert.equal(actual.isIdle, isIdle, `${c.name}: isIdle`);
}

function assertRequestMatches(actual: RequestSummary, expected: Partial<RequestSummary>, label: string): void {
  const picked: Partial<RequestSummary> = {};
  for (const key of Object.keys(expected) as (keyof RequestSummary)[]) {
    (picked as Record<string, unknown>)[key] = actual[key];
  }
  assert.deepEqual(picked, expected, label);
}

/** s quoted for a test name, with every byte outside printable ASCII as \xNN. */
export function showBytes(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const isPlain = c >= 0x20 && c < 0x7f && c !== 0x5c;
    out += isPlain ? s[i] : `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return `"${out}"`;
}
