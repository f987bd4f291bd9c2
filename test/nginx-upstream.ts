// Real nginx in front of Spindle, for the end-to-end proof of the drain and
// the rolling restart (test/e2e/nginx-upstream.test.ts) and its benchmark
// (bench/nginx-reload.mjs imports this file from dist/). nginx runs as the
// caller, in the foreground, from a prefix of its own in a temp dir:
//   nginx -p PREFIX -c PREFIX/nginx.conf -e PREFIX/error.log -g 'daemon off;'
// The upstream block and the location are README's "Running in production"
// config; the paths, the ports, one worker process, the size of the
// keep-alive cache and the X-Upstream header (which instance answered) are
// the test's.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const NGINX_PATH = '/usr/sbin/nginx';

export function isNginxInstalled(): boolean {
  try {
    fs.accessSync(NGINX_PATH, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface UpstreamConfigOptions {
  prefix: string;
  /** the port nginx listens on, on 127.0.0.1 */
  port: number;
  /** the Spindle instances, on 127.0.0.1 */
  upstreamPorts: number[];
  /** idle upstream connections nginx keeps (README: 32) */
  keepaliveConnections?: number;
  /** the output of `nginx -V`: temp paths are set only for the modules it was built with */
  buildInfo?: string;
}

export function renderUpstreamConfig({ prefix, port, upstreamPorts, keepaliveConnections = 16, buildInfo = '' }: UpstreamConfigOptions): string {
  // As root, nginx would drop its workers to `nobody`, who may not read a
  // private temp dir: keep them as the caller.
  const userLine = process.getuid?.() === 0 ? 'user root;' : '';
  // Temp paths default to build-time directories under /var/lib/nginx.
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .filter((kind) => !buildInfo.includes(`--without-http_${kind}_module`))
    .map((kind) => `  ${kind}_temp_path ${prefix}/tmp/${kind};`).join('\n');
  const servers = upstreamPorts.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=2s;`).join('\n');
  return `# written by test/nginx-upstream.ts
${userLine}
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events {
  worker_connections 1024;
}
http {
  access_log off;
${temp}
  upstream spindle {
${servers}
    keepalive ${keepaliveConnections};
    keepalive_timeout 4s;          # below spindle --keepalive-timeout (5s)
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://spindle;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Request-Id $request_id;
      proxy_buffering off;
      proxy_next_upstream error timeout non_idempotent;
      add_header X-Upstream $upstream_addr always;
    }
  }
}
`;
}

export interface NginxProcess {
  port: number;
  child: ChildProcess;
  prefix: string;
  /** nginx's error log so far */
  errorLog(): string;
  /** SIGTERM (fast shutdown), SIGKILL after 3 s; removes the prefix */
  stop(): Promise<void>;
}

/** A port on 127.0.0.1 that nothing listens on right now. */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Writes the config into a fresh prefix, starts nginx and waits until it accepts connections. */
export async function startNginx(upstreamPorts: number[], keepaliveConnections = 16): Promise<NginxProcess> {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'spindle-nginx-'));
  fs.mkdirSync(path.join(prefix, 'tmp'));
  const buildInfo = execFileSync(NGINX_PATH, ['-V'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await findFreePort();
  const confFile = path.join(prefix, 'nginx.conf');
  fs.writeFileSync(confFile, renderUpstreamConfig({ prefix, port, upstreamPorts, keepaliveConnections, buildInfo }));
  const errorFile = path.join(prefix, 'error.log');
  const child = spawn(NGINX_PATH, ['-p', prefix, '-c', confFile, '-e', errorFile, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const errorLog = (): string => {
    try {
      return fs.readFileSync(errorFile, 'utf8') + stderr;
    } catch {
      return stderr;
    }
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(prefix, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const log = errorLog();
      await stop();
      throw new Error(`nginx did not start on :${port}: ${log.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { port, child, prefix, errorLog, stop };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
