import { isUtf8 } from 'node:buffer';
import secureJson from 'secure-json-parse';
import { HookflowError } from '../errors/catalogue.js';

export interface ParseBodyOptions {
  /** The `Content-Type` header, if any. */
  contentType: string | undefined;
  /** Deepest nesting of arrays/objects accepted in JSON; deeper is a 400. */
  maxJsonDepth: number;
}

/** A body that is neither JSON, text nor a form, kept byte for byte. */
export interface BinaryBody {
  contentType: string;
  encoding: 'base64';
  data: string;
}

const badFormat = (message: string, cause?: unknown): HookflowError =>
  new HookflowError('HOOKFLOW_ERR_BAD_REQUEST_FORMAT', message, { cause });

/** A parsed body and its JSON text for storage. */
export interface ParsedBody {
  value: unknown;
  /** `value` as JSON. For JSON bodies, the text as received (already validated): no re-serialising. */
  json: string;
}

/**
 * Turns raw body bytes into the value the workflow sees (API.md "Bodies"):
 * JSON (and `+json`) → parsed value; `text/*` → string; form → object; none → JSON if it
 * parses, else text; anything else → `{contentType, encoding: "base64", data}`.
 */
export function parseBody(raw: Buffer, options: ParseBodyOptions): ParsedBody {
  const { mediaType, charset } = parseContentType(options.contentType);
  if (mediaType === undefined) return parseUntyped(raw, options.maxJsonDepth);
  if (mediaType === 'application/json' || mediaType.endsWith('+json')) return parseJsonText(decodeText(raw, charset), options.maxJsonDepth);
  if (mediaType.startsWith('text/')) return stored(decodeText(raw, charset));
  if (mediaType === 'application/x-www-form-urlencoded') return stored(parseForm(decodeText(raw, charset)));
  return stored({ contentType: options.contentType ?? mediaType, encoding: 'base64', data: raw.toString('base64') } satisfies BinaryBody);
}

function stored(value: unknown): ParsedBody {
  return { value, json: JSON.stringify(value) };
}

function parseJsonText(text: string, maxDepth: number): ParsedBody {
  const value = parseJson(text, maxDepth);
  // Whitespace-only text is not valid JSON, so parseJson has already refused it: the text is a value.
  return { value, json: text };
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

function parseJson(text: string, maxDepth: number): unknown {
  // Checked before parsing: a value nested 100,000 deep parses, but later recursion over it
  // (serialising, templates) would overflow the stack.
  if (jsonDepth(text) > maxDepth) throw badFormat(`JSON nested deeper than ${maxDepth}`);
  try {
    return secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (cause) {
    throw badFormat('Body is not valid JSON', cause);
  }
}

function parseUntyped(raw: Buffer, maxDepth: number): ParsedBody {
  if (raw.length === 0) return stored(null);
  const text = decodeText(raw, 'utf-8');
  try {
    JSON.parse(text);
  } catch {
    return stored(text); // not JSON, so it is text
  }
  return parseJsonText(text, maxDepth); // JSON after all: the same safety checks as declared JSON
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

/** Deepest bracket nesting in a JSON text, ignoring brackets inside strings. O(n), no allocation. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 92 /* \ */) i++;
      else if (code === 34 /* " */) inString = false;
    } else if (code === 34) inString = true;
    else if (code === 123 /* { */ || code === 91 /* [ */) {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (code === 125 /* } */ || code === 93 /* ] */) depth--;
  }
  return deepest;
}
