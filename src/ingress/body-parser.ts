import { isUtf8 } from 'node:buffer';
import secureJson from 'secure-json-parse';
import { HookflowError } from '../errors/catalogue.js';
import { parseExactJson, stringifyExactJson } from '../util/exact-json.js';
import { scanJson, type JsonScan } from './json-scan.js';
import { parseMultipart, type MultipartLimits } from './multipart.js';

export interface ParseBodyOptions {
  /** The `Content-Type` header, if any. */
  contentType: string | undefined;
  /** Deepest nesting of arrays/objects accepted in JSON; deeper is a 400. */
  maxJsonDepth: number;
  /** A form field whose value is JSON, parsed in place (`trigger.parse.formJsonField`: GitHub's form deliveries, Slack interactivity). */
  formJsonField?: string | undefined;
  /** A `text/*` body is JSON (`trigger.parse.textJson`: AWS SNS sends JSON as text/plain). */
  textJson?: boolean | undefined;
}

/**
 * As `parseBody`, and `multipart/form-data` too (`{fields, files}`, see multipart.ts), which is
 * parsed asynchronously.
 */
export async function parseRequestBody(raw: Buffer, options: ParseBodyOptions & { multipart: MultipartLimits }): Promise<ParsedBody> {
  const { mediaType } = parseContentType(options.contentType);
  if (mediaType === 'multipart/form-data') return stored(await parseMultipart(raw, options.contentType ?? '', options.multipart));
  return parseBody(raw, options);
}

/** A body that is neither JSON, text nor a form, kept byte for byte. */
export interface BinaryBody {
  contentType: string;
  encoding: 'base64';
  data: string;
}

const badFormat = (message: string, cause?: unknown): HookflowError =>
  new HookflowError('HOOKFLOW_ERR_BAD_REQUEST_FORMAT', message, { cause });

/** A checked body, as the JSON text of the value the workflow will see. */
export interface ParsedBody {
  /** For JSON bodies, the text as received (validated, never rebuilt); otherwise the value serialised. */
  json: string;
}

/**
 * Turns raw body bytes into the JSON of the value the workflow sees (API.md "Bodies"):
 * JSON (and `+json`) → parsed value; `text/*` → string; form → object; none → JSON if it
 * parses, else text; anything else → `{contentType, encoding: "base64", data}`.
 */
export function parseBody(raw: Buffer, options: ParseBodyOptions): ParsedBody {
  const { mediaType, charset } = parseContentType(options.contentType);
  if (mediaType === undefined) return parseUntyped(raw, options.maxJsonDepth);
  if (mediaType === 'application/json' || mediaType.endsWith('+json')) return parseJsonText(decodeText(raw, charset), options.maxJsonDepth);
  if (mediaType.startsWith('text/')) return options.textJson === true ? parseJsonText(decodeText(raw, charset), options.maxJsonDepth) : stored(decodeText(raw, charset));
  if (mediaType === 'application/x-www-form-urlencoded') return stored(withJsonField(parseForm(decodeText(raw, charset)), options));
  return stored({ contentType: options.contentType ?? mediaType, encoding: 'base64', data: raw.toString('base64') } satisfies BinaryBody);
}

function stored(value: unknown): ParsedBody {
  return { json: stringifyExactJson(value) };
}

/**
 * Declared JSON: valid, no deeper than allowed, no prototype-poisoning keys. One allocation-free
 * scan decides the common case; only a text with a suspect key is parsed in full to judge it.
 */
function parseJsonText(text: string, maxDepth: number, scan: JsonScan = scanJson(text)): ParsedBody {
  if (!scan.valid) throw badFormat('Body is not valid JSON');
  // Refused here, not later: a value nested 100,000 deep would overflow the stack wherever it is
  // walked recursively (serialising, templates).
  if (scan.depth > maxDepth) throw badFormat(`JSON nested deeper than ${maxDepth}`);
  if (scan.suspectKey) {
    try {
      secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
    } catch (cause) {
      throw badFormat('Body is not valid JSON', cause);
    }
  }
  // Whitespace-only text is not valid JSON, so the text is a value as it stands.
  return { json: text };
}

function parseContentType(header: string | undefined): { mediaType: string | undefined; charset: string } {
  if (header === undefined || header.trim() === '') return { mediaType: undefined, charset: 'utf-8' };
  const [type = '', ...params] = header.split(';');
  let charset = 'utf-8';
  for (const param of params) {
    const [name, value] = param.split('=');
    if (name?.trim().toLowerCase() === 'charset' && value !== undefined) charset = value.trim().replace(/^"|"$/g, '');
  }
  return { mediaType: type.trim().toLowerCase(), charset };
}

const UTF8_LABELS = new Set(['utf-8', 'utf8', 'unicode-1-1-utf-8']);

function decodeText(raw: Buffer, charset: string): string {
  if (UTF8_LABELS.has(charset.toLowerCase())) {
    // The common case, on Node's native validator and decoder (several times faster than a fatal TextDecoder).
    if (!isUtf8(raw)) throw badFormat('Body is not valid utf-8');
    const text = raw.toString('utf8');
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  }
  let decoder: InstanceType<typeof TextDecoder>;
  try {
    decoder = new TextDecoder(charset, { fatal: true, ignoreBOM: false });
  } catch (cause) {
    throw badFormat(`Unknown charset "${charset}"`, cause);
  }
  try {
    return decoder.decode(raw);
  } catch (cause) {
    throw badFormat(`Body is not valid ${charset}`, cause);
  }
}

function parseUntyped(raw: Buffer, maxDepth: number): ParsedBody {
  if (raw.length === 0) return stored(null);
  const text = decodeText(raw, 'utf-8');
  const scan = scanJson(text);
  if (!scan.valid) return stored(text); // not JSON, so it is text
  return parseJsonText(text, maxDepth, scan); // JSON after all: the same safety checks as declared JSON
}

/** The form with its JSON field (`formJsonField`) parsed, under the same checks as a JSON body. */
function withJsonField(form: Record<string, string | string[]>, options: ParseBodyOptions): Record<string, unknown> {
  const name = options.formJsonField;
  const text = name === undefined ? undefined : form[name];
  if (name === undefined || typeof text !== 'string') return form;
  const checked = parseJsonText(text, options.maxJsonDepth);
  // Exact: a number beyond 2^53 in the field keeps its digits (docs/numbers.md).
  return { ...form, [name]: parseExactJson(checked.json) };
}

function parseForm(text: string): Record<string, string | string[]> {
  const form: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (const [name, value] of new URLSearchParams(text)) {
    if (name === '__proto__' || name === 'constructor' || name === 'prototype') throw badFormat(`Form field "${name}" is not allowed`);
    const existing = form[name];
    if (existing === undefined) form[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else form[name] = [existing, value];
  }
  return form;
}
