// The static-file reference: nginx (nginx-light) configured the way it is
// deployed for static files. writeNginxConfig() writes nginx.conf into a
// prefix directory; compare.mjs then runs
//   nginx -p PREFIX -c PREFIX/nginx.conf -e PREFIX/error.log -g 'daemon off;'
// so the nginx master stays in the foreground and SIGTERM stops it.
// With a certificate and key it listens with `ssl` instead (TLS 1.2 and 1.3,
// Spindle's TLS 1.3 suite order, session tickets on as by default). nginx
// does not sendfile over TLS unless kernel TLS is set up; Debian's nginx
// does not, so neither does this.
// Run alone, it prints the config:
//   node bench/baselines/nginx.mjs --port N --root DIR [--tls-cert FILE --tls-key FILE]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HELLO_PAGE, TLS13_SUITES } from './contract.mjs';

/** nginx string literal of the hello page (same bytes as Spindle's demo). */
function nginxQuoted(text) {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

/** The listen line, and with a certificate the ssl directives of the server block. */
function renderListen(port, tls) {
  if (!tls) return `listen 127.0.0.1:${port};`;
  return [
    `listen 127.0.0.1:${port} ssl;`,
    `ssl_certificate ${tls.cert};`,
    `ssl_certificate_key ${tls.key};`,
    'ssl_protocols TLSv1.2 TLSv1.3;',
    'ssl_prefer_server_ciphers on;',
    `ssl_conf_command Ciphersuites ${TLS13_SUITES.join(':')};`,
  ].join('\n        ');
}

export function renderNginxConfig({ prefix, port, root, buildInfo = '', tls = null }) {
  // Running as root, nginx would drop its workers to `nobody`, who may not
  // read a private temp dir: keep them as the caller.
  const userLine = process.getuid?.() === 0 ? 'user root;' : '';
  // Temp paths default to build-time directories that may not exist; point
  // them into the prefix, for the modules this nginx was built with.
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .filter((kind) => !buildInfo.includes(`--without-http_${kind}_module`))
    .map((kind) => `    ${kind}_temp_path ${prefix}/tmp/${kind};`).join('\n');
  return `# written by bench/baselines/nginx.mjs
${userLine}
worker_processes auto;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events {
    worker_connections 16384;
}
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65s;
    keepalive_requests 1000000;
    server_tokens off;
    default_type application/octet-stream;
${temp}
    server {
        ${renderListen(port, tls)}
        location = / {
            default_type "text/html; charset=utf-8";
            return 200 ${nginxQuoted(HELLO_PAGE.toString())};
        }
        location = /healthz {
            default_type "text/plain; charset=utf-8";
            return 200 'ok\\n';
        }
        location /static/ {
            alias ${root}/;
        }
    }
}
`;
}

/**
 * Writes PREFIX/nginx.conf; returns the nginx arguments that run it in the
 * foreground. buildInfo is the output of `nginx -V`; tls is { cert, key } (paths) or null.
 */
export function writeNginxConfig({ prefix, port, root, buildInfo, tls = null }) {
  fs.mkdirSync(path.join(prefix, 'tmp'), { recursive: true });
  const confFile = path.join(prefix, 'nginx.conf');
  fs.writeFileSync(confFile, renderNginxConfig({ prefix, port, root: path.resolve(root), buildInfo, tls }));
  return ['-p', prefix, '-c', confFile, '-e', path.join(prefix, 'error.log'), '-g', 'daemon off;'];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (flag, fallback) => {
    const i = process.argv.indexOf(flag);
    return i > 0 ? process.argv[i + 1] : fallback;
  };
  process.stdout.write(renderNginxConfig({
    prefix: arg('--prefix', path.join(os.tmpdir(), 'spindle-nginx')),
    port: Number(arg('--port', '8080')),
    root: path.resolve(arg('--root', '.')),
    tls: arg('--tls-cert') ? { cert: path.resolve(arg('--tls-cert')), key: path.resolve(arg('--tls-key')) } : null,
  }));
}
