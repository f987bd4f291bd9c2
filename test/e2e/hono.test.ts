// Real applications on the pool: a Hono app (routes, params, JSON in and
// out, middleware headers, statuses) and a plain fetch app that uses the
// corners of Request and Response that must survive the thread boundary
// (streams, bytes, Response.json/redirect, two Set-Cookie fields, repeated
// request fields).
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { startServer } from '../helpers.js';
import { fixturePath, httpRequest } from '../pool-helpers.js';

async function startApp(t: TestContext, fixture: string): Promise<string> {
  const { url } = await startServer(t, { app: fixturePath(fixture), threads: 2 });
  return url;
}

/** The values of every field named `name`, from the raw field lines. */
function fieldValues(rawHeaders: string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() === name) values.push(rawHeaders[i + 1]);
  }
  return values;
}

// ─── Hono ────────────────────────────────────────────────────────────────────

test('Hono: c.text answers with its content type and the header set by middleware', async (t) => {
  const url = await startApp(t, 'hono-app.js');
  const response = await httpRequest(`${url}/`);
  assert.equal(response.status, 200);
  assert.equal(response.text, 'Hello from Hono');
  // Hono's plain c.text is `new Response(text)`: Fetch's default type for a string body.
  assert.equal(response.headers['content-type'], 'text/plain;charset=UTF-8');
  assert.equal(response.headers['x-powered-by'], 'Hono on Spindle');
  assert.equal(response.headers['content-length'], String(response.body.byteLength));
});

test('Hono: route params and the query string reach the handler', async (t) => {
  const url = await startApp(t, 'hono-app.js');
  const user = await httpRequest(`${url}/users/42?tab=posts`);
  assert.equal(user.status, 200);
  assert.equal(user.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(user.text), { id: '42', tab: 'posts' });
  const encoded = await httpRequest(`${url}/users/caf%C3%A9`);
  assert.deepEqual(JSON.parse(encoded.text), { id: 'café', tab: null }, 'params are percent-decoded');
  const comment = await httpRequest(`${url}/posts/7/comments/99`);
  assert.equal(comment.text, 'post 7, comment 99');
});

test('Hono: a JSON POST is parsed and echoed with 201', async (t) => {
  const url = await startApp(t, 'hono-app.js');
  const sent = { name: 'Ada', tags: ['math', 'engines'], nested: { n: 1.5, ok: true, none: null }, text: 'naïve ☃' };
  const response = await httpRequest(`${url}/echo`, {
    method: 'POST',
    headers: [['Content-Type', 'application/json']],
    body: JSON.stringify(sent),
  });
  assert.equal(response.status, 201);
  assert.equal(response.headers['content-type'], 'application/json');
  assert.equal(response.headers['x-powered-by'], 'Hono on Spindle');
  assert.deepEqual(JSON.parse(response.text), { received: sent, contentType: 'application/json' });
});

test("Hono: malformed JSON in a POST reaches the app's error handler, and the server carries on", async (t) => {
  const url = await startApp(t, 'hono-app.js');
  const response = await httpRequest(`${url}/echo`, { method: 'POST', headers: [['Content-Type', 'application/json']], body: '{"unterminated' });
  assert.equal(response.status, 500);
  assert.match((JSON.parse(response.text) as { error: string }).error, /JSON/);
  assert.equal((await httpRequest(`${url}/`)).status, 200);
});

test('Hono: c.html, a custom status with headers, 204 without a body, and HEAD', async (t) => {
  const url = await startApp(t, 'hono-app.js');
  const page = await httpRequest(`${url}/page`);
  assert.equal(page.status, 200);
  assert.equal(page.headers['content-type'], 'text/html; charset=UTF-8');
  assert.equal(page.text, '<h1>Hono</h1>');

  const teapot = await httpRequest(`${url}/teapot`);
  assert.equal(teapot.status, 418);
  assert.equal(teapot.headers['x-brew'], 'earl grey');
  assert.equal(teapot.text, "I'm a teapot");

  const deleted = await httpRequest(`${url}/items/5`, { method: 'DELETE' });
  assert.equal(deleted.status, 204);
  assert.equal(deleted.body.byteLength, 0);
  assert.equal(deleted.headers['content-length'], undefined, 'RFC 9110 §8.6: no Content-Length in a 204');

  // Hono answers HEAD with `new Response(null, getResponse)`: GET's status and fields, no body.
  const head = await httpRequest(`${url}/`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body.byteLength, 0);
  assert.equal(head.headers['content-type'], 'text/plain;charset=UTF-8');
  assert.equal(head.headers['x-powered-by'], 'Hono on Spindle');
  assert.ok(head.headers['content-length'] === undefined || head.headers['content-length'] === '15', 'RFC 9110 §9.3.2: no length, or the length GET would send');
});

test("Hono: an unknown route gets Hono's 404, through the middleware", async (t) => {
  const url = await startApp(t, 'hono-app.js');
  const response = await httpRequest(`${url}/no/such/route`);
  assert.equal(response.status, 404);
  assert.equal(response.text, '404 Not Found');
  assert.equal(response.headers['x-powered-by'], 'Hono on Spindle');
  const wrongMethod = await httpRequest(`${url}/users/1`, { method: 'PUT', body: 'x' });
  assert.equal(wrongMethod.status, 404, 'Hono answers 404 for a route without the method');
});

// ─── a plain fetch application ───────────────────────────────────────────────

test('fetch app: a ReadableStream body arrives whole', async (t) => {
  const url = await startApp(t, 'fetch-app.js');
  const response = await httpRequest(`${url}/stream`);
  assert.equal(response.status, 200);
  assert.equal(response.headers['content-type'], 'text/plain; charset=utf-8');
  assert.equal(response.text, 'first part, second part, last part');
});

test('fetch app: a Uint8Array body arrives byte for byte', async (t) => {
  const url = await startApp(t, 'fetch-app.js');
  const response = await httpRequest(`${url}/bytes`);
  assert.equal(response.status, 200);
  assert.equal(response.headers['content-type'], 'application/octet-stream');
  assert.deepEqual([...response.body], [0, 1, 2, 253, 254, 255]);
  assert.equal(response.headers['content-length'], '6');
});

test('fetch app: Response.json() sends JSON with its status and content type', async (t) => {
  const url = await startApp(t, 'fetch-app.js');
  const response = await httpRequest(`${url}/json`);
  assert.equal(response.status, 202);
  assert.equal(response.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(response.text), { ok: true, list: [1, 2, 3], text: 'naïve ☃' });
});

test('fetch app: Response.redirect() sends its status and an absolute Location', async (t) => {
  const url = await startApp(t, 'fetch-app.js');
  const response = await httpRequest(`${url}/redirect`);
  assert.equal(response.status, 301);
  assert.equal(response.headers.location, `${url}/json`);
});

test('fetch app: a Response from fetch() is passed on as it is', async (t) => {
  const url = await startApp(t, 'fetch-app.js');
  const response = await httpRequest(`${url}/fetched`);
  assert.equal(response.status, 200);
  assert.equal(response.headers['content-type'], 'text/plain;charset=utf-8');
  assert.equal(response.text, 'fetched by the app');
});

test('fetch app: Response.error() becomes a 500, and the server carries on', async (t) => {
  const { url, logs } = await startServer(t, { app: fixturePath('fetch-app.js'), threads: 1 });
  const response = await httpRequest(`${url}/error`);
  assert.equal(response.status, 500);
  assert.ok(logs.some((line) => line.includes('/error')), logs.join('\n'));
  assert.equal((await httpRequest(`${url}/json`)).status, 202);
});

test('fetch app: two Set-Cookie values arrive as two separate fields', async (t) => {
  const url = await startApp(t, 'fetch-app.js');
  const fromHeaders = await httpRequest(`${url}/cookies`);
  assert.equal(fromHeaders.status, 200);
  assert.deepEqual(fieldValues(fromHeaders.rawHeaders, 'set-cookie'), ['a=1; Path=/; HttpOnly', 'b=2; Expires=Wed, 21 Oct 2015 07:28:00 GMT']);
  assert.equal(fromHeaders.text, 'two cookies');
  const fromArray = await httpRequest(`${url}/cookies-in-array`);
  assert.deepEqual(fieldValues(fromArray.rawHeaders, 'set-cookie'), ['c=3', 'd=4']);
});

test('fetch app: repeated request fields reach request.headers combined, as Headers combines them', async (t) => {
  const url = await startApp(t, 'fetch-app.js');
  const response = await httpRequest(`${url}/headers`, {
    headers: [
      ['X-Tag', 'one'],
      ['Accept', 'text/html'],
      ['X-Tag', 'two'],
      ['Accept', 'application/json'],
      ['Cookie', 'a=1'],
      ['Cookie', 'b=2'],
    ],
  });
  assert.equal(response.status, 200);
  const seen = JSON.parse(response.text) as { accept: string; xTag: string; cookie: string; all: [string, string][] };
  assert.equal(seen.xTag, 'one, two');
  assert.equal(seen.accept, 'text/html, application/json');
  assert.equal(seen.cookie, 'a=1; b=2', 'Cookie fields join with "; " (RFC 9113 §8.2.3, as undici does)');
  assert.ok(seen.all.some(([name]) => name === 'host'), 'Host is among the headers');
});

test('fetch app: a POST body reaches request.text()', async (t) => {
  const url = await startApp(t, 'fetch-app.js');
  const response = await httpRequest(`${url}/echo`, { method: 'POST', headers: [['Content-Type', 'text/x-note']], body: 'hello, worker ☃' });
  assert.equal(response.status, 200);
  assert.equal(response.headers['content-type'], 'text/x-note');
  assert.equal(response.text, 'hello, worker ☃');
});
