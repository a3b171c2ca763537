import { Busboy, type BusboyFileStream } from '@fastify/busboy';
import { HookflowError } from '../errors/catalogue.js';

/** A file of a multipart body, as the workflow sees it. */
export interface UploadedFile {
  field: string;
  filename: string | null;
  contentType: string;
  /** Decoded size, bytes. */
  size: number;
  encoding: 'base64';
  data: string;
}

/** A multipart body as the workflow sees it: text fields by name (repeated ones as arrays) and the files. */
export interface MultipartBody {
  fields: Record<string, string | string[]>;
  files: UploadedFile[];
}

export interface MultipartLimits {
  /** Largest file, bytes (decoded); a larger one is a 413. */
  maxFileBytes: number;
  /** Most files; more is a 413. */
  maxFiles: number;
  /** Most text fields; more is a 400. */
  maxFields: number;
}

const FORBIDDEN_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Parses a `multipart/form-data` body (already read, within the trigger's body limit) with
 * busboy, the parser @fastify/multipart is built on. Files are kept in the stored event as base64
 * — one durable write with the event, readable by scripts like any field, and bounded by the body
 * limit — rather than in a separate blob store that a crash between two writes could leave half
 * done. A file over `maxFileBytes`, or too many files, is a 413; a malformed body a 400.
 */
export function parseMultipart(raw: Buffer, contentType: string, limits: MultipartLimits): Promise<MultipartBody> {
  return new Promise((resolve, reject) => {
    const fields: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
    const files: UploadedFile[] = [];
    const pending: Promise<void>[] = [];
    let failure: HookflowError | null = null;
    const fail = (error: HookflowError): void => {
      failure ??= error;
    };
    let parser: InstanceType<typeof Busboy>;
    try {
      parser = new Busboy({
        headers: { 'content-type': contentType },
        limits: { fileSize: limits.maxFileBytes, files: limits.maxFiles, fields: limits.maxFields, parts: limits.maxFiles + limits.maxFields },
      });
    } catch (cause) {
      reject(new HookflowError('HOOKFLOW_ERR_BAD_REQUEST_FORMAT', 'Malformed multipart content type (a boundary is required)', { cause }));
      return;
    }
    parser.on('field', (name: string, value: string) => {
      if (FORBIDDEN_NAMES.has(name)) return fail(new HookflowError('HOOKFLOW_ERR_BAD_REQUEST_FORMAT', `Form field "${name}" is not allowed`));
      const existing = fields[name];
      if (existing === undefined) fields[name] = value;
      else if (Array.isArray(existing)) existing.push(value);
      else fields[name] = [existing, value];
    });
    parser.on('file', (field: string, stream: BusboyFileStream, filename: string | undefined, _encoding: string, mimeType: string) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('limit', () => fail(new HookflowError('HOOKFLOW_ERR_PAYLOAD_TOO_LARGE', `File "${filename ?? field}" is larger than ${limits.maxFileBytes} bytes`)));
      pending.push(
        new Promise((done) => {
          // A part cut off by the end of the body errors its file stream: without this listener
          // that error was uncaught (it ended the process); it is a malformed body, a 400.
          stream.on('error', (cause: unknown) => {
            fail(new HookflowError('HOOKFLOW_ERR_BAD_REQUEST_FORMAT', 'Malformed multipart body', { cause }));
            done();
          });
          stream.on('end', () => {
            const data = Buffer.concat(chunks);
            files.push({ field, filename: filename === undefined || filename === '' ? null : filename, contentType: mimeType, size: data.length, encoding: 'base64', data: data.toString('base64') });
            done();
          });
        }),
      );
    });
    parser.on('filesLimit', () => fail(new HookflowError('HOOKFLOW_ERR_PAYLOAD_TOO_LARGE', `More than ${limits.maxFiles} files`)));
    parser.on('fieldsLimit', () => fail(new HookflowError('HOOKFLOW_ERR_BAD_REQUEST_FORMAT', `More than ${limits.maxFields} fields`)));
    parser.on('partsLimit', () => fail(new HookflowError('HOOKFLOW_ERR_BAD_REQUEST_FORMAT', 'Too many parts')));
    parser.on('error', (cause: unknown) => reject(new HookflowError('HOOKFLOW_ERR_BAD_REQUEST_FORMAT', 'Malformed multipart body', { cause })));
    parser.on('finish', () => {
      void Promise.all(pending).then(() => {
        if (failure !== null) reject(failure);
        else resolve({ fields, files });
      });
    });
    parser.end(raw);
  });
}
