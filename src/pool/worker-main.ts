// Runs inside each worker thread: the book's `Worker::new` loop, in which a
// thread takes a job, runs it, and asks for the next. It imports the job
// module once, then runs one job at a time. A job that throws becomes a
// `failed` message; the thread never dies of a job's exception.
import { parentPort, workerData } from 'node:worker_threads';
import type { JobContext, JobFunction, JobModule } from './job-module.js';
import { serializeError, type FromWorker, type RunMessage, type ToWorker, type WorkerData } from './messages.js';

const port = parentPort!;
const setup = workerData as WorkerData;

/** The job being run, and its abort controller once someone asked for the signal. */
let currentId = -1;
let currentAbort: AbortController | null = null;
let isCurrentAborted = false;

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

async function runJob(run: JobFunction, message: RunMessage): Promise<void> {
  currentId = message.id;
  currentAbort = null;
  isCurrentAborted = false;
  const context = new Context();
  try {
    let result = run(message.payload, context);
    if (result instanceof Promise) result = await result;
    post({ type: 'done', id: message.id, result }, context.transferList);
  } catch (err) {
    post({ type: 'failed', id: message.id, error: serializeError(err) });
  } finally {
    currentId = -1;
    currentAbort = null;
    // The result is on its way; let the pool hand this thread its next job
    // without waiting for the message to be read (ThreadPool.poll).
    Atomics.store(setup.finished, setup.slot, message.id);
  }
}

async function start(): Promise<void> {
  let run: JobFunction;
  try {
    const mod = (await import(setup.jobModule)) as JobModule;
    if (typeof mod.default !== 'function') {
      throw new TypeError(`${setup.jobModule} has no default export function to run jobs with`);
    }
    if (typeof mod.setup === 'function') await mod.setup(setup.jobData);
    run = mod.default;
  } catch (err) {
    post({ type: 'init-error', error: serializeError(err) });
    process.exit(1);
  }
  port.on('message', (message: ToWorker) => {
    switch (message.type) {
      case 'run':
        void runJob(run, message);
        break;
      case 'abort':
        if (message.id === currentId && !isCurrentAborted) {
          isCurrentAborted = true;
          currentAbort?.abort(abortReason());
        }
        break;
      case 'close':
        // Joined: the main thread awaits this thread's exit.
        process.exit(0);
    }
  });
  post({ type: 'ready' });
}

void start();
