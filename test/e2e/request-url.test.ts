// What an application on the worker threads gets as request.url is what the
// bytes carried: the authority of Host or of an absolute-form target and the
// path and query, byte for byte, never cut or rebuilt (RFC 9112 §3.3). A
// target the application could be misled by ("#", an invalid authority) is
// 400 from Spindle and never reaches it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertResponse, exchange, startServer } from '../helpers.js';
import { fixturePath } from '../pool-helpers.js';

interface UrlCase {
  target: string;
  /** the Host field line's value; null sends none */
  host: string | null;
  version?: '1.0' | '1.1';
  /** request.url as the application must see it */
  url: string;
}

test('request.url in the application is the scheme, the authority and the target as sent', async (t) => {
  const { port } = await startServer(t, { app: fixturePath('url-app.js'), threads: 2 });
  const cases: UrlCase[] = [
    { target: '/', host: 'example.com', url: 'http://example.com/' },
    { target: '/a/b%20c?d=e&f', host: 'example.com:8080', url: 'http://example.com:8080/a/b%20c?d=e&f' },
    { target: '//double//slashes/', host: 'example.com', url: 'http://example.com//double//slashes/' },
    { target: '/search?tags[]=a&q={x}|y^z`w', host: 'example.com', url: 'http://example.com/search?tags[]=a&q={x}|y^z`w' },
    { target: '/%23not-a-fragment?%23', host: 'example.com', url: 'http://example.com/%23not-a-fragment?%23' },
    { target: '/', host: '[2001:db8::1]:8080', url: 'http://[2001:db8::1]:8080/' },
    { target: '/', host: '[::ffff:192.0.2.1]', url: 'http://[::ffff:192.0.2.1]/' },
    { target: '/', host: '[v1.x]', url: 'http://[v1.x]/' },
    { target: '/', host: '%41b.example:0080', url: 'http://%41b.example:0080/' },
    { target: '/', host: 'example.com:', url: 'http://example.com:/' },
    // absolute-form: its authority, not Host's (RFC 9112 §3.2.2)
    { target: 'http://example.com:8080/a?b', host: 'other.example', url: 'http://example.com:8080/a?b' },
    { target: 'http://[::1]:65535/x', host: 'other.example', url: 'http://[::1]:65535/x' },
    { target: 'http://exa%41mple.com', host: 'other.example', url: 'http://exa%41mple.com/' },
    { target: 'HTTP://Example.com?q', host: 'other.example', url: 'http://Example.com/?q' },
    // The scheme is the connection's: a client cannot make a plain connection look like TLS.
    { target: 'https://example.com:443/x', host: 'other.example', url: 'http://example.com:443/x' },
    // No authority in the request: the address the server listens on. HTTP/1.0
    // without keep-alive closes the connection, so it comes last.
    { target: '/x', host: '', url: `http://127.0.0.1:${port}/x` },
    { target: '/x', host: null, version: '1.0', url: `http://127.0.0.1:${port}/x` },
  ];
  const requests = cases.map(({ target, host, version }, i) => {
    const hostLine = host === null ? '' : `Host: ${host}\r\n`;
    const close = i === cases.length - 1 ? 'Connection: close\r\n' : '';
    return `GET ${target} HTTP/${version ?? '1.1'}\r\n${hostLine}${close}\r\n`;
  });
  const { responses } = await exchange(t, port, requests.join(''));
  assert.equal(responses.length, cases.length, 'one response per request');
  responses.forEach((response, i) => {
    assertResponse(response, 200);
    assert.equal(response.body.toString('latin1'), cases[i].url, `request.url for ${cases[i].target} with Host ${cases[i].host}`);
  });
});

test('a target with "#" or an authority RFC 3986 does not allow is 400 and never reaches the application', async (t) => {
  const { port } = await startServer(t, { app: fixturePath('url-app.js'), threads: 1 });
  const requests = [
    'GET https://exampl#e.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n',
    'GET https://example.com:4#3 HTTP/1.1\r\nHost: example.com\r\n\r\n',
    'GET /a#b HTTP/1.1\r\nHost: example.com\r\n\r\n',
    'GET http://exa%zz/ HTTP/1.1\r\nHost: example.com\r\n\r\n',
    'GET http://[:::::]/ HTTP/1.1\r\nHost: example.com\r\n\r\n',
    'GET http://example.com:65536/ HTTP/1.1\r\nHost: example.com\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: exa%zz\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: [::1.2.3.256]\r\n\r\n',
    'GET /%zz HTTP/1.1\r\nHost: example.com\r\n\r\n',
  ];
  for (const request of requests) {
    // A request after it on the same connection is never read.
    const { responses, isClosed } = await exchange(t, port, `${request}GET /after HTTP/1.1\r\nHost: example.com\r\n\r\n`);
    assert.equal(responses.length, 1, `one answer to ${JSON.stringify(request)}`);
    assertResponse(responses[0], 400, { isClosing: true });
    assert.ok(!responses[0].body.toString('latin1').startsWith('http'), 'answered by Spindle, not by the application');
    assert.ok(isClosed, 'the connection is closed');
  }
});
