// Runs inside each worker thread: the book's `Worker::new` loop, in which a
// thread takes the next job from the shared receiver, runs it, and goes back
// for another. It imports the job module once, runs one job at a time, and
// turns a job that throws into a `failed` message: the thread never dies of
// a job's exception.
import v8 from 'node:v8';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { JobContext, JobFunction, JobModule } from './job-module.js';
import { serializeError, type FromWorker, type ToWorker, type WorkerData } from './messages.js';
import { ResultMailboxes } from './result-mailbox.js';
import { SharedQueue } from './shared-queue.js';

const port = parentPort!;
const setup = workerData as WorkerData;
const queue = new SharedQueue(setup.queue);
const mailboxes = new ResultMailboxes(setup.results);
let encodeResult: ((result: unknown, target: Buffer) => number) | null = null;
const index = setup.index;
/** Run at most this long before letting the event loop in (messages, timers). */
const YIELD_EVERY_MS = 10;

/** The job being run, and its abort controller once someone asked for the signal. */
let currentId = 0;
let currentAbort: AbortController | null = null;
let isCurrentAborted = false;
/** Payloads asked for with `need`, by job id. */
const awaitedPayloads = new Map<number, (payload: { value: unknown } | null) => void>();

function post(message: FromWorker, transfer?: ArrayBuffer[]): void {
  port.postMessage(message, transfer);
}

class Context implements JobContext {
  readonly transferList: ArrayBuffer[] = [];

  get signal(): AbortSignal {
    // Created on first use: most jobs never look at it.
    if (currentAbort === null) {
      currentAbort = new AbortController();
      if (isCurrentAborted) currentAbort.abort(abortReason());
    }
    return currentAbort.signal;
  }

  transfer(...items: ArrayBuffer[]): void {
    this.transferList.push(...items);
  }
}

function abortReason(): Error {
  return new DOMException('the job was aborted: its deadline passed or its client went away', 'AbortError');
}

async function runJob(run: JobFunction, id: number, payload: unknown): Promise<void> {
  currentId = id;
  currentAbort = null;
  isCurrentAborted = false;
  const context = new Context();
  let message: FromWorker;
  try {
    let result = run(payload, context);
    if (result instanceof Promise) result = await result;
    message = { type: 'done', id, result };
  } catch (err) {
    message = { type: 'failed', id, error: serializeError(err) };
  }
  currentId = 0;
  currentAbort = null;
  // Idle before the result is out, so that whoever reads it finds this thread idle.
  queue.clearRunning(index);
  if (message.type === 'done' && encodeResult !== null) {
    const result = message.result;
    const encode = encodeResult;
    const delivery = mailboxes.put(index, id, (target) => encode(result, target));
    if (delivery === 'ring') post({ type: 'results' });
    if (delivery !== 'full') return;
  }
  try {
    post(message, context.transferList);
  } catch (err) {
    // The result cannot be cloned (a function, a symbol...): that is the job's failure.
    post({ type: 'failed', id, error: serializeError(err) });
  }
}

/** A payload too large for the shared queue: ask the pool for it. Null when the job was cancelled meanwhile. */
function requestPayload(id: number): Promise<{ value: unknown } | null> {
  return new Promise((resolve) => {
    awaitedPayloads.set(id, resolve);
    post({ type: 'need', id });
  });
}

async function takeJobs(run: JobFunction, decode: (bytes: Buffer) => unknown): Promise<void> {
  let lastYield = performance.now();
  for (;;) {
    const job = queue.take(index);
    if (job === null) {
      // The book's `recv` error: the channel is closed and empty. Leave the loop.
      if (queue.isClosed) return;
      await queue.waitForJob();
      lastYield = performance.now();
      continue;
    }
    let payload: unknown;
    if (job.payload !== null) {
      payload = decode(job.payload);
    } else {
      const sent = await requestPayload(job.id);
      if (sent === null) {
        queue.clearRunning(index);
        continue;
      }
      payload = sent.value;
    }
    await runJob(run, job.id, payload);
    if (performance.now() - lastYield > YIELD_EVERY_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
  }
}

function onMessage(message: ToWorker): void {
  switch (message.type) {
    case 'run': {
      let payload = message.payload;
      if (message.channel !== null) {
        payload = receiveMessageOnPort(message.channel)?.message;
        message.channel.close();
      }
      awaitedPayloads.get(message.id)?.({ value: payload });
      awaitedPayloads.delete(message.id);
      break;
    }
    case 'skip':
      awaitedPayloads.get(message.id)?.(null);
      awaitedPayloads.delete(message.id);
      break;
    case 'abort':
      if (message.id === currentId && !isCurrentAborted) {
        isCurrentAborted = true;
        currentAbort?.abort(abortReason());
      }
      break;
  }
}

async function start(): Promise<void> {
  let run: JobFunction;
  let decode: (bytes: Buffer) => unknown;
  try {
    const mod = (await import(setup.jobModule)) as JobModule;
    if (typeof mod.default !== 'function') {
      throw new TypeError(`${setup.jobModule} has no default export function to run jobs with`);
    }
    if (typeof mod.setup === 'function') await mod.setup(setup.jobData);
    run = mod.default;
    decode = typeof mod.decodePayload === 'function' ? mod.decodePayload : (bytes) => v8.deserialize(bytes);
    if (typeof mod.encodeResult === 'function' && setup.hasResultDecoder) encodeResult = mod.encodeResult;
  } catch (err) {
    post({ type: 'init-error', error: serializeError(err) });
    process.exit(1);
  }
  port.on('message', onMessage);
  post({ type: 'ready' });
  await takeJobs(run, decode);
  // The loop ended: the book's thread returns from its closure, and the pool
  // joins it. Exit rather than wait for the event loop to empty, which
  // handles the application left open (timers, sockets) would prevent.
  process.exit(0);
}

void start();
