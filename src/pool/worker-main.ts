// Runs inside each worker thread: the book's `Worker::new` loop, in which a
// thread takes the next job from the shared receiver, runs it, and goes back
// for another. It imports the job module once and turns a job that throws
// into a `failed` message: the thread never dies of a job's exception.
//
// Unlike the book's worker, it does not wait for a job to end before taking
// the next: a job that awaits (a database, a fetch, a timer) gives its
// thread back, the way a Tokio worker runs many tasks. It runs up to one
// job per lane (the pool's `concurrency`) at once. A job whose code does
// not await keeps the thread to itself until it returns, and the thread
// takes nothing new meanwhile: queued jobs go to other workers.
import v8 from 'node:v8';
import { parentPort, receiveMessageOnPort, workerData, type TransferListItem } from 'node:worker_threads';
import type { JobContext, JobFunction, JobModule } from './job-module.js';
import { serializeError, type FromWorker, type ToWorker, type WorkerData } from './messages.js';
import { ResultMailboxes } from './result-mailbox.js';
import { SharedQueue, type TakenJob } from './shared-queue.js';

const port = parentPort!;
const setup = workerData as WorkerData;
const queue = new SharedQueue(setup.queue);
const mailboxes = new ResultMailboxes(setup.results);
let encodeResult: ((result: unknown, target: Buffer) => number) | null = null;
const index = setup.index;

/** The jobs in flight, by id: for `abort` messages. */
const running = new Map<number, Context>();
/** Payloads asked for with `need`, by job id. */
const awaitedPayloads = new Map<number, (payload: { value: unknown } | null) => void>();
/** This worker's lanes not running a job. */
const freeLanes: number[] = [];
for (let lane = (index + 1) * queue.lanesPerWorker - 1; lane >= index * queue.lanesPerWorker; lane--) freeLanes.push(lane);
/** Resolves the take loop's wait when a lane is freed. */
let onLaneFreed: (() => void) | null = null;
/** jobs ended here, for the recycling limit */
let jobsDone = 0;
/** this worker reached its job or heap limit: it takes no more jobs and leaves once its own have ended */
let isRecycling = false;

/** After each job: past its job count or heap limit, the worker stops taking jobs and says so. */
function checkRecycling(): void {
  if (isRecycling) return;
  let reason: string | null = null;
  if (setup.recycleAfterJobs > 0 && jobsDone >= setup.recycleAfterJobs) reason = `it ran ${jobsDone} jobs`;
  else if (setup.recycleAboveHeapBytes > 0) {
    const heap = v8.getHeapStatistics().used_heap_size;
    if (heap > setup.recycleAboveHeapBytes) reason = `its heap holds ${heap} bytes`;
  }
  if (reason === null) return;
  isRecycling = true;
  queue.setRetiring(index, true);
  post({ type: 'recycling', reason });
}

function post(message: FromWorker, transfer?: TransferListItem[]): void {
  port.postMessage(message, transfer);
}

class Context implements JobContext {
  readonly transferList: TransferListItem[] = [];
  #abort: AbortController | null = null;
  #isAborted = false;

  get signal(): AbortSignal {
    // Created on first use: most jobs never look at it.
    if (this.#abort === null) {
      this.#abort = new AbortController();
      if (this.#isAborted) this.#abort.abort(abortReason());
    }
    return this.#abort.signal;
  }

  transfer(...items: TransferListItem[]): void {
    this.transferList.push(...items);
  }

  abort(): void {
    if (this.#isAborted) return;
    this.#isAborted = true;
    this.#abort?.abort(abortReason());
  }
}

function abortReason(): Error {
  return new DOMException('the job was aborted: its deadline passed or its client went away', 'AbortError');
}

/** Runs a job taken on `lane`, then frees the lane; never throws. */
async function runJob(run: JobFunction, decode: (bytes: Buffer) => unknown, job: TakenJob, lane: number): Promise<void> {
  const id = job.id;
  const context = new Context();
  running.set(id, context);
  let message: FromWorker | null = null; // null: cancelled before it ran, nothing to answer
  try {
    const payload = job.payload !== null ? { value: decode(job.payload) } : await requestPayload(id);
    if (payload !== null) {
      let result = run(payload.value, context);
      if (result instanceof Promise) result = await result;
      message = { type: 'done', id, result };
    }
  } catch (err) {
    message = { type: 'failed', id, error: serializeError(err) };
  }
  running.delete(id);
  // The lane is free before the result is out, so that whoever reads it finds it free.
  queue.finish(index, lane);
  freeLanes.push(lane);
  jobsDone++;
  checkRecycling();
  if (onLaneFreed !== null) onLaneFreed();
  if (message === null) return;
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

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Resolves when one of this worker's jobs ends. */
function laneFreed(): Promise<void> {
  return new Promise((resolve) => {
    onLaneFreed = () => {
      onLaneFreed = null;
      resolve();
    };
  });
}

async function takeJobs(run: JobFunction, decode: (bytes: Buffer) => unknown): Promise<void> {
  const lanes = queue.lanesPerWorker;
  for (;;) {
    // Take jobs while a lane is free. Each starts at once, and the loop lets
    // it run to its first real wait (its promise reactions included) before
    // it takes another: a job that then blocks the thread holds only the jobs
    // already waiting on something, never ones this loop took behind it,
    // which stay in the queue for the other workers.
    while (freeLanes.length > 0 && !isRecycling) {
      const lane = freeLanes[freeLanes.length - 1];
      const job = queue.take(index, lane);
      if (job === null) break;
      freeLanes.pop();
      void runJob(run, decode, job, lane);
      await yieldToEventLoop();
    }
    const inFlight = lanes - freeLanes.length;
    if (isRecycling) {
      // Recycled (its job or heap limit): finish the jobs in flight, then leave.
      if (inFlight === 0) return;
      await laneFreed();
      continue;
    }
    if (queue.isClosed && queue.length === 0) {
      // The book's `recv` error: the channel is closed and empty. Finish the
      // jobs in flight, then leave the loop.
      if (inFlight === 0) return;
      await laneFreed();
      continue;
    }
    if (inFlight === 0 && queue.nap(index)) continue;
    const woken = freeLanes.length > 0 ? queue.sleep(index) : null;
    if (woken === null && freeLanes.length > 0) continue; // work came meanwhile
    await (woken === null ? laneFreed() : Promise.race([woken, laneFreed()]));
    queue.awake(index);
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
      running.get(message.id)?.abort();
      break;
  }
}

async function start(): Promise<void> {
  let drain: (() => Promise<void> | void) | null = null;
  let run: JobFunction;
  let decode: (bytes: Buffer) => unknown;
  try {
    const mod = (await import(setup.jobModule)) as JobModule;
    if (typeof mod.default !== 'function') {
      throw new TypeError(`${setup.jobModule} has no default export function to run jobs with`);
    }
    if (typeof mod.setup === 'function') await mod.setup(setup.jobData);
    run = mod.default;
    if (typeof mod.drain === 'function') drain = mod.drain;
    decode = typeof mod.decodePayload === 'function' ? mod.decodePayload : (bytes) => v8.deserialize(bytes);
    if (typeof mod.encodeResult === 'function' && setup.hasResultDecoder) encodeResult = mod.encodeResult;
  } catch (err) {
    post({ type: 'init-error', error: serializeError(err) });
    process.exit(1);
  }
  port.on('message', onMessage);
  post({ type: 'ready' });
  await takeJobs(run, decode);
  // What outlives the jobs (streamed bodies) ends before the thread does.
  if (drain !== null) await drain();
  // The loop ended: the book's thread returns from its closure, and the pool
  // joins it. Exit rather than wait for the event loop to empty, which
  // handles the application left open (timers, sockets) would prevent.
  process.exit(0);
}

void start();
