import { createHmac, timingSafeEqual } from 'node:crypto';

import type {
  SignatureCheckInput,
  SignatureCheckResult,
  SignatureFailureReason,
  SignatureScheme,
} from './types.js';

/** Allowed clock skew for timestamped schemes when the trigger sets none, seconds. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** A header read: its value, or the refusal to return as-is from `verify`. */
export type HeaderRead =
  | { ok: true; value: string }
  | { ok: false; reason: Extract<SignatureFailureReason, 'missing_header' | 'malformed_header'> };

/** Builds a refusal; a fresh object each time so no caller can mutate a shared one. */
export function fail(reason: SignatureFailureReason): SignatureCheckResult {
  return { ok: false, reason };
}

/**
 * Reads one header as a single trimmed, non-empty string. A header sent several times is
 * malformed: picking one copy would let a sender choose which value we verify.
 */
export function readHeader(headers: SignatureCheckInput['headers'], name: string): HeaderRead {
  // Own properties only, so `constructor`/`__proto__` never read as headers.
  if (typeof headers !== 'object' || headers === null || !Object.hasOwn(headers, name)) {
    return { ok: false, reason: 'missing_header' };
  }
  let raw: unknown = headers[name];
  if (Array.isArray(raw)) {
    if (raw.length > 1) return { ok: false, reason: 'malformed_header' };
    raw = raw[0];
  }
  if (raw === undefined) return { ok: false, reason: 'missing_header' };
  if (typeof raw !== 'string') return { ok: false, reason: 'malformed_header' };
  const value = raw.trim();
  return value === '' ? { ok: false, reason: 'malformed_header' } : { ok: true, value };
}

/**
 * Parses Unix seconds written in canonical decimal (no sign, no leading zero, no fraction).
 * Canonical only, because providers sign the header text while reference libraries re-print the
 * parsed number; for canonical text the two agree, so no signature depends on which one we pick.
 */
export function parseUnixSeconds(text: string): number | undefined {
  if (!/^(?:0|[1-9][0-9]{0,14})$/.test(text)) return undefined;
  return Number(text);
}

/** True when `timestamp` lies within the tolerance of now, both directions, edges included. */
export function withinTolerance(timestamp: number, input: SignatureCheckInput): boolean {
  const tolerance = input.options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  // Written as `<=` so a NaN clock or tolerance fails closed instead of accepting everything.
  return Math.abs(input.nowSeconds - timestamp) <= tolerance;
}

/** Strict hex: an even number of hex digits, or undefined. (`Buffer.from` would skip bad digits.) */
export function decodeHex(text: string): Buffer | undefined {
  return /^(?:[0-9a-fA-F]{2})*$/.test(text) ? Buffer.from(text, 'hex') : undefined;
}

/**
 * Strict padded standard base64, or undefined. `Buffer.from` silently drops foreign characters,
 * which would let two different header values verify as the same signature.
 */
export function decodeBase64(text: string): Buffer | undefined {
  const shape = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
  return shape.test(text) ? Buffer.from(text, 'base64') : undefined;
}

/** Decodes a presented signature in the scheme's encoding; undefined for anything else. */
export function decodeSignature(text: string, encoding: 'hex' | 'base64'): Buffer | undefined {
  if (encoding === 'hex') return decodeHex(text);
  if (encoding === 'base64') return decodeBase64(text);
  return undefined;
}

/** HMAC-SHA256 over the parts in order, so a large body is never copied into a joined buffer. */
export function hmacSha256(key: string | Buffer, parts: readonly (string | Buffer)[]): Buffer {
  const hmac = createHmac('sha256', key);
  for (const part of parts) hmac.update(part);
  return hmac.digest();
}

/**
 * HMAC keys from configured secrets. Empty secrets are dropped: an HMAC under an empty key is
 * something anyone can compute, so it must never make a request valid.
 */
export function nonEmptySecrets(secrets: readonly string[]): string[] {
  return Array.isArray(secrets) ? secrets.filter((secret) => typeof secret === 'string' && secret !== '') : [];
}

/** What `checkSignatures` compares: presented digests against one expected digest per key. */
export interface SignatureCandidates {
  /** Decoded presented signatures; undefined entries (bad encoding) can never match. */
  presented: readonly (Buffer | undefined)[];
  /** Keys to try; any one matching is enough (secret rotation). */
  keys: readonly (string | Buffer)[];
  /** Computes the expected digest for one key. */
  sign: (key: string | Buffer) => Buffer;
}

/**
 * Accepts when any presented signature equals the expected digest of any key. Compared with
 * `timingSafeEqual` on equal lengths only; a length mismatch is public (digest sizes are fixed),
 * so skipping it leaks nothing.
 */
export function checkSignatures({ presented, keys, sign }: SignatureCandidates): SignatureCheckResult {
  const candidates = presented.filter((digest): digest is Buffer => digest !== undefined);
  let matched = false;
  if (candidates.length > 0) {
    for (const key of keys) {
      const expected = sign(key);
      for (const candidate of candidates) {
        // No early exit: timing then does not reveal which secret or which signature matched.
        if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) matched = true;
      }
    }
  }
  return matched ? { ok: true } : fail('signature_mismatch');
}

/** Freezes a scheme and its header list, so no importer can alter a shared registry entry. */
export function defineScheme(scheme: SignatureScheme): SignatureScheme {
  Object.freeze(scheme.headerNames);
  return Object.freeze(scheme);
}
