// A load client for the tests behind nginx: `loops` request loops over one
// keep-alive node:http Agent, each alternating GET / and POST /echo with a
// body of random bytes, until told to stop. It counts what a load balancer's
// client would see go wrong: a status other than 2xx, a socket error, an echo
// that did not come back byte for byte. X-Upstream (added by the nginx
// config) tells which instance answered.
import crypto from 'node:crypto';
import http from 'node:http';

export interface LoadFailure {
  /** milliseconds since the load started */
  atMs: number;
  method: string;
  /** the status, or the socket error's code */
  what: string;
  upstream?: string;
}

export interface LoadReport {
  requests: number;
  posts: number;
  postsIntact: number;
  non2xx: LoadFailure[];
  socketErrors: LoadFailure[];
  corruptEchoes: LoadFailure[];
  /** requests answered, by X-Upstream (nginx's $upstream_addr: "127.0.0.1:P", or "A, B" after a retry) */
  byUpstream: Map<string, number>;
  durationMs: number;
}

export interface LoadOptions {
  port: number;
  loops?: number;
  /** largest POST body; sizes are random from 0 */
  maxBodyBytes?: number;
  /** a request without an answer after this is a socket error */
  timeoutMs?: number;
}

interface Answer {
  status: number;
  body: Buffer;
  upstream: string;
}

function send(agent: http.Agent, port: number, method: string, path: string, body: Buffer | null, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = body === null ? {} : { 'content-type': 'application/octet-stream', 'content-length': body.length };
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks), upstream: String(res.headers['x-upstream'] ?? '-') }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`no answer in ${timeoutMs} ms`), { code: 'TIMEOUT' })));
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}

/** Starts the loops; `stop()` ends them after their current request and resolves with the report. */
export function startLoad({ port, loops = 8, maxBodyBytes = 24 * 1024, timeoutMs = 10_000 }: LoadOptions): { stop(): Promise<LoadReport> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: loops });
  const startedAt = performance.now();
  const report: LoadReport = {
    requests: 0, posts: 0, postsIntact: 0, non2xx: [], socketErrors: [], corruptEchoes: [], byUpstream: new Map(), durationMs: 0,
  };
  let isStopping = false;
  const atMs = (): number => Math.round(performance.now() - startedAt);

  const runLoop = async (loop: number): Promise<void> => {
    for (let i = loop; !isStopping; i++) {
      const isPost = i % 2 === 1;
      const body = isPost ? crypto.randomBytes(crypto.randomInt(0, maxBodyBytes + 1)) : null;
      const method = isPost ? 'POST' : 'GET';
      report.requests++;
      if (isPost) report.posts++;
      try {
        const answer = await send(agent, port, method, isPost ? '/echo' : '/', body, timeoutMs);
        report.byUpstream.set(answer.upstream, (report.byUpstream.get(answer.upstream) ?? 0) + 1);
        if (answer.status < 200 || answer.status > 299) {
          report.non2xx.push({ atMs: atMs(), method, what: String(answer.status), upstream: answer.upstream });
        } else if (body !== null) {
          if (answer.body.equals(body)) report.postsIntact++;
          else report.corruptEchoes.push({ atMs: atMs(), method, what: `${body.length} bytes sent, ${answer.body.length} back`, upstream: answer.upstream });
        }
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        report.socketErrors.push({ atMs: atMs(), method, what: code });
      }
    }
  };

  const running = Promise.all(Array.from({ length: loops }, (_, loop) => runLoop(loop)));
  return {
    async stop() {
      isStopping = true;
      await running;
      report.durationMs = atMs();
      agent.destroy();
      return report;
    },
  };
}

/** One line per kind of failure, for an assertion's message. */
export function describeFailures(failures: LoadFailure[]): string {
  return failures.slice(0, 20).map((f) => `${f.atMs} ms ${f.method} ${f.what}${f.upstream === undefined ? '' : ` via ${f.upstream}`}`).join('; ');
}
