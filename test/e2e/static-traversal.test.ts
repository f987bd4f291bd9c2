// Nothing outside the static root is ever served. Each row of the matrix is a
// request-target taken from a published traversal advisory, sent byte for
// byte over a raw socket to the real CLI; the answer must be 400, 403 or 404
// (or a 301 that stays inside the root) and must never contain the marker of
// a file outside the root, nor of a dotfile inside it.
//
//   tmp/
//     secret.txt                 SECRET-<uuid>        (beside the root)
//     outside/secret.txt         SECRET-<uuid>        (a directory outside)
//     root-sibling/secret.txt    SECRET-<uuid>        (its name starts with the root's)
//     root/                      the static root
//       index.html  hello.txt  sub/file.txt  sub/index.html
//       .env  .git/config  .hidden-dir/file.txt      (dotfile markers)
//       link-inside            → hello.txt            (inside: always served)
//       link-to-secret         → tmp/secret.txt       (absolute)
//       link-to-secret-relative → ../secret.txt
//       link-to-outside        → tmp/outside/
//       link-to-sibling        → tmp/root-sibling/secret.txt
//       sub/link-up            → ..                   (the root: inside)
//       sub/link-escape        → ../..                (tmp/: outside)
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { symlinkSync } from 'node:fs';
import path from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { header, startCli } from '../helpers.js';
import { createFixture, removeFixture, request, writeFiles } from '../static-helpers.js';

const fixture = createFixture('traversal');
after(() => removeFixture(fixture));

const ENV_MARKER = `DOTENV-${randomUUID()}`;
const GIT_MARKER = `GITCONFIG-${randomUUID()}`;
const HELLO = 'hello from inside the root\n';

writeFiles(fixture.dir, {
  'outside/secret.txt': `${fixture.secretMarker}\n`,
  'root-sibling/secret.txt': `${fixture.secretMarker}\n`,
});
writeFiles(fixture.root, {
  'index.html': '<!doctype html><title>root</title>\n',
  'hello.txt': HELLO,
  'sub/file.txt': 'a file in sub\n',
  'sub/index.html': '<!doctype html><title>sub</title>\n',
  '.env': `TOKEN=${ENV_MARKER}\n`,
  '.git/config': `[core]\n\tmarker = ${GIT_MARKER}\n`,
  '.hidden-dir/file.txt': `${ENV_MARKER}\n`,
  'listed/visible.txt': 'visible\n',
  'listed/.env-in-listed': `${ENV_MARKER}\n`,
});
symlinkSync('hello.txt', path.join(fixture.root, 'link-inside'));
symlinkSync(fixture.secretPath, path.join(fixture.root, 'link-to-secret'));
symlinkSync('../secret.txt', path.join(fixture.root, 'link-to-secret-relative'));
symlinkSync(path.join(fixture.dir, 'outside'), path.join(fixture.root, 'link-to-outside'));
symlinkSync(path.join(fixture.dir, 'root-sibling', 'secret.txt'), path.join(fixture.root, 'link-to-sibling'));
symlinkSync('..', path.join(fixture.root, 'sub', 'link-up'));
symlinkSync('../..', path.join(fixture.root, 'sub', 'link-escape'));

interface Attack {
  target: string;
  /** where the attack comes from */
  why: string;
  /** a 301 is fine, as long as Location stays on this origin and under the root */
  mayRedirect?: boolean;
  /** aims at a dotfile inside the root: served by design with --dotfiles */
  isDotfile?: boolean;
  /** goes through a symbolic link: served by design with --follow-symlinks */
  isSymlink?: boolean;
}

/** Attacks on a server with the root at "/". */
const ROOT_ATTACKS: Attack[] = [
  // Plain dot-dot segments (RFC 3986 §5.2.4 would clamp them; a server must not follow them).
  { target: '/../secret.txt', why: 'a dot-dot segment' },
  { target: '/../../../../../../../../etc/passwd', why: 'dot-dots to /etc/passwd' },
  { target: '/./../secret.txt', why: 'a dot segment before dot-dot' },
  { target: '//..//secret.txt', why: 'empty segments around dot-dot' },
  { target: '/sub/../../secret.txt', why: 'climbing out of a subdirectory' },
  { target: '/sub/./.././../secret.txt', why: 'dot and dot-dot segments mixed' },
  { target: '/hello.txt/../../secret.txt', why: 'climbing through a file name' },
  { target: '/sub/..', why: 'dot-dot at the end lands on the root itself', mayRedirect: true },
  // Apache 2.4.49, CVE-2021-41773: dots percent-encoded after normalisation.
  { target: '/%2e%2e/secret.txt', why: 'CVE-2021-41773: %2e%2e' },
  { target: '/.%2e/secret.txt', why: 'CVE-2021-41773: .%2e' },
  { target: '/%2e./secret.txt', why: 'CVE-2021-41773: %2e.' },
  { target: '/%2E%2E/%2E%2E/secret.txt', why: 'CVE-2021-41773: upper-case escapes' },
  { target: '/cgi-bin/.%2e/.%2e/.%2e/.%2e/etc/passwd', why: 'CVE-2021-41773: the published exploit' },
  // Apache 2.4.50, CVE-2021-42013: the fix was bypassed by encoding the escape itself.
  { target: '/.%%32%65/secret.txt', why: 'CVE-2021-42013: .%%32%65' },
  { target: '/%%32%65%%32%65/secret.txt', why: 'CVE-2021-42013: %%32%65%%32%65' },
  { target: '/cgi-bin/%%32%65%%32%65/%%32%65%%32%65/etc/passwd', why: 'CVE-2021-42013: the published exploit' },
  // Overlong UTF-8 and %u escapes (IIS CVE-2000-0884, Tomcat CVE-2008-2938).
  { target: '/%c0%ae%c0%ae/secret.txt', why: 'overlong UTF-8 dots %c0%ae' },
  { target: '/%e0%80%ae%e0%80%ae/secret.txt', why: 'three-byte overlong dots' },
  { target: '/..%c0%afsecret.txt', why: 'overlong UTF-8 slash %c0%af' },
  { target: '/..%c1%9csecret.txt', why: 'overlong UTF-8 backslash %c1%9c (IIS)' },
  { target: '/%u002e%u002e/secret.txt', why: 'IIS %u002e escapes' },
  // Encoded slashes: a separator after decoding.
  { target: '/..%2fsecret.txt', why: '..%2f' },
  { target: '/..%2Fsecret.txt', why: '..%2F' },
  { target: '/%2e%2e%2fsecret.txt', why: 'everything encoded' },
  { target: '/sub/..%2f..%2fsecret.txt', why: '..%2f twice from a subdirectory' },
  { target: '/%2f..%2fsecret.txt', why: '%2f..%2f' },
  // Backslashes, a separator on Windows (many Node static servers: CVE-2017-16083 node-srv, CVE-2018-3733 crud-file-server).
  { target: '/..%5csecret.txt', why: '..%5c' },
  { target: '/%5c..%5csecret.txt', why: '%5c..%5c' },
  { target: '/..\\secret.txt', why: 'a raw backslash' },
  { target: '/sub\\..\\..\\secret.txt', why: 'raw backslashes only' },
  { target: '/..%255csecret.txt', why: 'a double-encoded backslash' },
  // Double encoding: decoded once, %2e%2e is a name, never a dot-dot.
  { target: '/%252e%252e/secret.txt', why: 'double-encoded dots %252e%252e' },
  { target: '/%252e%252e%252fsecret.txt', why: 'double-encoded dots and slash' },
  // Path parameters, which Tomcat strips after the proxy in front has checked the path (CVE-2020-1938 era "..;/").
  { target: '/..;/secret.txt', why: 'Tomcat ..;/' },
  { target: '/sub/..;/..;/secret.txt', why: 'Tomcat ..;/ twice' },
  { target: '/;/../secret.txt', why: 'an empty path parameter before dot-dot' },
  // NUL: C string APIs stop at it (CVE-2006-7243 era "%00" suffix tricks).
  { target: '/../secret.txt%00', why: 'NUL after the name' },
  { target: '/secret.txt%00.html', why: 'NUL before an allowed extension' },
  { target: '/hello.txt%00/../../secret.txt', why: 'NUL inside the path' },
  // Trailing dots and spaces, which Windows strips from names (CVE-2019-0232 era).
  { target: '/..%20/secret.txt', why: 'dot-dot followed by a space' },
  { target: '/..%09/secret.txt', why: 'dot-dot followed by a tab' },
  { target: '/.../secret.txt', why: 'three dots' },
  { target: '/..../secret.txt', why: 'four dots' },
  { target: '/..%2e/secret.txt', why: 'three dots, one encoded' },
  { target: '/../secret.txt.', why: 'a trailing dot' },
  { target: '/../secret.txt%20', why: 'a trailing space' },
  { target: '/hello.txt./../../secret.txt', why: 'a trailing dot on a segment' },
  // Absolute paths smuggled after the root slash.
  { target: '//etc/passwd', why: 'an absolute path after the slash' },
  { target: '/%2fetc%2fpasswd', why: 'an encoded absolute path' },
  { target: '/' + fixture.secretPath, why: "the secret file's absolute path" },
  { target: '/' + encodeURIComponent(fixture.secretPath), why: "the secret file's encoded absolute path" },
  { target: '/secret.txt', why: 'the secret file by its own name (it is not in the root)' },
  // Absolute-form request-targets (RFC 9112 §3.2.2): the same rules apply to their path.
  { target: 'http://127.0.0.1/../secret.txt', why: 'absolute-form with a dot-dot' },
  { target: 'http://127.0.0.1/%2e%2e/secret.txt', why: 'absolute-form with %2e%2e' },
  // Symbolic links inside the root that lead outside it.
  { target: '/link-to-secret', why: 'a link to the secret file (absolute)', isSymlink: true },
  { target: '/link-to-secret-relative', why: 'a link to the secret file (relative)', isSymlink: true },
  { target: '/link-to-outside/secret.txt', why: 'a link to a directory outside', isSymlink: true },
  { target: '/link-to-outside/', why: 'the listing of a directory outside', isSymlink: true },
  { target: '/link-to-outside', why: 'a directory outside, without its slash', isSymlink: true },
  { target: '/link-to-sibling', why: 'a link into root-sibling/ (a prefix check without "/" lets it pass)', isSymlink: true },
  { target: '/sub/link-escape/secret.txt', why: 'a relative link ../.. from a subdirectory', isSymlink: true },
  { target: '/sub/link-up/../secret.txt', why: 'a dot-dot after an inside link' },
  // Dotfiles in the root: secrets by convention (.env, .git).
  { target: '/.env', why: 'a .env file', isDotfile: true },
  { target: '/%2eenv', why: 'an encoded .env', isDotfile: true },
  { target: '/.env.', why: '.env with a trailing dot', isDotfile: true },
  { target: '/.git/config', why: '.git/config', isDotfile: true },
  { target: '/.git%2fconfig', why: '.git%2fconfig', isDotfile: true },
  { target: '/.git/', why: 'the .git directory', isDotfile: true },
  { target: '/sub/../.env', why: '.env through a subdirectory', isDotfile: true },
  { target: '/sub/%2e%2e/.env', why: '.env through an encoded dot-dot', isDotfile: true },
  { target: '/.hidden-dir/file.txt', why: 'a file in a hidden directory', isDotfile: true },
  // An open redirect is a traversal of origins: send's and serve-static's
  // directory redirect (CVE-2015-1164) echoed "//evil.example/.." as Location.
  { target: '//evil.example/%2e%2e/sub', why: 'serve-static CVE-2015-1164: //host in the redirect', mayRedirect: true },
  { target: '//evil.example/..%2fsub', why: 'open redirect with an encoded slash', mayRedirect: true },
  { target: '/%2f%2fevil.example/..%2f..%2fsub', why: 'open redirect with encoded leading slashes', mayRedirect: true },
];

/** Attacks on a server with --prefix /static (nginx `location /static { alias ROOT/; }`). */
const PREFIX_ATTACKS: Attack[] = [
  { target: '/static/../secret.txt', why: 'dot-dot just after the prefix' },
  { target: '/static/../root/hello.txt', why: 'dot-dot out of the prefix and back' },
  { target: '/static..%2fsecret.txt', why: 'nginx alias traversal with an encoded slash' },
  { target: '/static../secret.txt', why: 'nginx alias traversal: /static../ maps to ROOT/../' },
  { target: '/static/..%2fsecret.txt', why: '..%2f after the prefix' },
  { target: '/static/%2e%2e/secret.txt', why: '%2e%2e after the prefix' },
  { target: '/static/.%2e/secret.txt', why: '.%2e after the prefix' },
  { target: '/static%2f..%2fsecret.txt', why: 'the prefix with an encoded slash' },
  { target: '/static//..//secret.txt', why: 'empty segments after the prefix' },
  { target: '/static/sub/../../secret.txt', why: 'climbing out of a subdirectory under the prefix' },
  { target: '/static/..\\secret.txt', why: 'a raw backslash after the prefix' },
  { target: '/static/link-to-secret', why: 'a link to the secret file under the prefix', isSymlink: true },
  { target: '/static/.env', why: '.env under the prefix', isDotfile: true },
  { target: '/secret.txt', why: 'outside the prefix' },
  { target: '/hello.txt', why: 'a file of the root, outside the prefix' },
  { target: '//static/../secret.txt', why: 'a doubled slash before the prefix' },
  { target: '/static/..', why: 'dot-dot lands on the prefix itself', mayRedirect: true },
  { target: '//evil.example/static/%2e%2e/sub', why: 'open redirect through the prefix', mayRedirect: true },
];

const ALL_MARKERS = [fixture.secretMarker, ENV_MARKER, GIT_MARKER];

/**
 * Sends the attack and checks the answer: no marker anywhere in it, and a
 * refusal (or a redirect that stays under `prefix` on this origin).
 */
async function assertRefused(t: TestContext, port: number, attack: Attack, prefix: string): Promise<void> {
  const response = await request(t, port, attack.target);
  const text = response.head + response.body.toString('latin1');
  for (const marker of ALL_MARKERS) {
    assert.ok(!text.includes(marker), `${attack.target} leaked ${marker.split('-')[0]} (status ${response.status}):\n${text}`);
  }
  if (attack.mayRedirect === true && response.status === 301) {
    const location = header(response, 'location');
    assert.ok(location !== undefined, `a 301 has a Location:\n${response.head}`);
    const origin = `http://127.0.0.1:${port}`;
    const resolved = new URL(location, `${origin}/`);
    assert.equal(resolved.origin, origin, `Location ${JSON.stringify(location)} must stay on this origin`);
    assert.ok(resolved.pathname.startsWith(prefix), `Location ${JSON.stringify(location)} must stay under ${prefix}`);
    return;
  }
  assert.ok([400, 403, 404].includes(response.status), `${attack.target} must be refused with 400, 403 or 404, got:\n${response.head}`);
}

async function runMatrix(t: TestContext, port: number, attacks: Attack[], prefix: string): Promise<void> {
  for (const attack of attacks) {
    await t.test(`${attack.target}  (${attack.why})`, (st) => assertRefused(st, port, attack, prefix));
  }
}

test('serves files inside the root, so the matrix below is not vacuous', async (t) => {
  const { port } = await startCli(t, [fixture.root, '--port', '0']);
  for (const [target, body] of [
    ['/hello.txt', HELLO],
    ['/%68ello.txt', HELLO],
    ['/sub/../hello.txt', HELLO],
    ['/sub/%2e%2e/hello.txt', HELLO],
    ['/./sub/./file.txt', 'a file in sub\n'],
    ['/link-inside', HELLO],
    ['/sub/link-up/hello.txt', HELLO],
    ['http://127.0.0.1/hello.txt', HELLO],
  ]) {
    const response = await request(t, port, target);
    assert.equal(response.status, 200, `${target}:\n${response.head}`);
    assert.equal(response.body.toString(), body, target);
  }
});

test('refuses every attack of the matrix with the default flags', async (t) => {
  assert.ok(ROOT_ATTACKS.length >= 30);
  const { port } = await startCli(t, [fixture.root, '--port', '0']);
  await runMatrix(t, port, ROOT_ATTACKS, '/');
});

test('refuses every attack that is not about dotfiles with --listing --dotfiles', async (t) => {
  const { port } = await startCli(t, [fixture.root, '--port', '0', '--listing', '--dotfiles']);
  await runMatrix(t, port, ROOT_ATTACKS.filter((attack) => attack.isDotfile !== true), '/');
});

test('refuses every attack of the matrix under --prefix /static', async (t) => {
  const { port } = await startCli(t, [fixture.root, '--port', '0', '--prefix', '/static']);
  const served = await request(t, port, '/static/hello.txt');
  assert.equal(served.status, 200);
  assert.equal(served.body.toString(), HELLO);
  await runMatrix(t, port, PREFIX_ATTACKS, '/static/');
});

test('with --follow-symlinks, links leading outside the root are served (and the matrix would have seen them)', async (t) => {
  const { port } = await startCli(t, [fixture.root, '--port', '0', '--follow-symlinks']);
  for (const target of ['/link-to-secret', '/link-to-secret-relative', '/link-to-outside/secret.txt', '/link-to-sibling']) {
    const response = await request(t, port, target);
    assert.equal(response.status, 200, `${target}:\n${response.head}`);
    assert.ok(response.body.toString().includes(fixture.secretMarker), target);
  }
  // Following links is not climbing: dot-dot is still refused.
  for (const attack of ROOT_ATTACKS.filter((a) => a.isSymlink !== true)) {
    await t.test(`still refuses ${attack.target}`, (st) => assertRefused(st, port, attack, '/'));
  }
});

test('with --dotfiles, .env and .git/config are served; climbing is still refused', async (t) => {
  const { port } = await startCli(t, [fixture.root, '--port', '0', '--dotfiles']);
  const env = await request(t, port, '/.env');
  assert.equal(env.status, 200);
  assert.equal(env.body.toString(), `TOKEN=${ENV_MARKER}\n`);
  const git = await request(t, port, '/.git/config');
  assert.equal(git.status, 200);
  assert.ok(git.body.toString().includes(GIT_MARKER));
  for (const target of ['/.%2e/secret.txt', '/%2e%2e/secret.txt', '/../secret.txt', '/link-to-secret']) {
    const response = await request(t, port, target);
    assert.ok([400, 403, 404].includes(response.status), `${target}:\n${response.head}`);
    assert.ok(!response.body.toString().includes(fixture.secretMarker), target);
  }
});

test('with --listing but without --dotfiles, a listing names no dotfile', async (t) => {
  const { port } = await startCli(t, [fixture.root, '--port', '0', '--listing']);
  const listing = await request(t, port, '/listed/');
  assert.equal(listing.status, 200);
  const html = listing.body.toString();
  assert.ok(html.includes('visible.txt'), html);
  assert.ok(!html.includes('.env-in-listed'), html);
});
