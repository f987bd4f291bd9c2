// A file opened just before its response head is written (the response's
// `prepare`, when its turn comes), so that failing to open it (the process
// is out of descriptors, the file was removed or made unreadable since its
// stat) is an honest error response, not a 200 whose body is cut off after
// the head. Its bytes are read only when the connection iterates the body:
// the read stream then owns the descriptor and closes it at its end, or when
// the iteration ends early (the client left, or the body was not wanted).
import { promises as fs, type ReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { errorResponse, type HttpResponse } from '../http/response.js';

/** Makes the body's stream from the open file; the stream closes the file when it ends. */
export type ReadFrom = (handle: FileHandle) => ReadStream | AsyncIterable<Uint8Array>;

export class OpenedFile implements AsyncIterable<Uint8Array> {
  #handle: FileHandle | null;
  #read: ReadFrom;

  constructor(handle: FileHandle, read: ReadFrom) {
    this.#handle = handle;
    this.#read = read;
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    const handle = this.#handle;
    this.#handle = null; // the stream's from now on
    if (handle === null) return NO_BYTES[Symbol.asyncIterator]();
    return this.#read(handle)[Symbol.asyncIterator]();
  }
}

/** A body of no bytes: what a HEAD response or a prepared one stands for, and a file whose stream was taken already. */
export const NO_BYTES: AsyncIterable<Uint8Array> = { [Symbol.asyncIterator]: () => ({ next: async () => ({ value: undefined, done: true }) }) };

/** Opens a file to be sent, or the response to send instead when it cannot be opened. */
export async function openFile(filePath: string, read: ReadFrom): Promise<OpenedFile | HttpResponse> {
  try {
    return new OpenedFile(await fs.open(filePath, 'r'), read);
  } catch (err) {
    return openFailure((err as NodeJS.ErrnoException).code);
  }
}

function openFailure(code: string | undefined): HttpResponse {
  switch (code) {
    case 'EMFILE': // out of descriptors: a moment later there may be one
    case 'ENFILE':
      return errorResponse(503, ['Retry-After', '1']);
    case 'ENOENT': // removed since its stat
    case 'ENOTDIR':
      return errorResponse(404);
    case 'EACCES':
    case 'EPERM':
      return errorResponse(403);
    default:
      return errorResponse(500);
  }
}
