import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate, type Gunzip } from 'node:zlib';
import { HookflowError } from '../errors/catalogue.js';

export interface ReadBodyOptions {
  /** The `Content-Encoding` header, if any. */
  contentEncoding: string | undefined;
  /** Limit on the DECODED size, bytes: a 10 KB gzip bomb is stopped at the limit, not at 10 GB. */
  limit: number;
  /**
   * Asked before each decoded chunk is kept, with the decoded size so far: false stops reading
   * with a 503 (the process-wide memory budget has no room for the rest).
   */
  reserve?: (decodedBytes: number) => boolean;
}

const DECODERS: Record<string, () => Gunzip | ReturnType<typeof createBrotliDecompress>> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

function normalizeEncoding(contentEncoding: string | undefined): string {
  return (contentEncoding ?? 'identity').trim().toLowerCase() || 'identity';
}

/**
 * Reads a request body into memory, decoding gzip/deflate/br on the way, and stops as soon as
 * the decoded size passes the limit (the socket is not read further). Memory stays flat: at most
 * `limit` bytes plus one chunk are ever held.
 */
export function readBody(stream: Readable, options: ReadBodyOptions): Promise<Buffer> {
  const encoding = normalizeEncoding(options.contentEncoding);
  const makeDecoder = DECODERS[encoding];
  if (encoding !== 'identity' && makeDecoder === undefined) {
    stream.resume();
    return Promise.reject(new HookflowError('HOOKFLOW_ERR_UNSUPPORTED_ENCODING', `Unsupported Content-Encoding "${encoding}"`));
  }
  const source: Readable = makeDecoder === undefined ? stream : stream.pipe(makeDecoder());
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (error: Error | null): void => {
      if (settled) return;
      settled = true;
      if (error === null) {
        resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
        return;
      }
      source.removeAllListeners('data');
      if (source !== stream) source.destroy();
      // Drain what the client still sends so the answer can go out on a healthy connection.
      stream.resume();
      reject(error);
    };
    source.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > options.limit) {
        finish(new HookflowError('HOOKFLOW_ERR_PAYLOAD_TOO_LARGE', `Body exceeds ${options.limit} bytes`));
        return;
      }
      if (options.reserve !== undefined && !options.reserve(size)) {
        finish(new HookflowError('HOOKFLOW_ERR_OVERLOADED', 'No room in the memory budget for the rest of the body', { transient: true }));
        return;
      }
      chunks.push(chunk);
    });
    source.once('end', () => finish(null));
    source.once('error', (error) => {
      const tooLarge = error instanceof HookflowError;
      finish(tooLarge ? error : new HookflowError('HOOKFLOW_ERR_BAD_REQUEST_FORMAT', 'Body could not be read or decoded', { cause: error }));
    });
    if (source !== stream) {
      stream.once('error', (error) => finish(new HookflowError('HOOKFLOW_ERR_BAD_REQUEST_FORMAT', 'Body could not be read', { cause: error })));
    }
  });
}
