import { createHash } from 'node:crypto';
import { CREDENTIAL_HEADERS, firstHeaderValue } from './request-key.js';

/** Delivery-id headers tried in order when a trigger names none (API.md). */
export const DEFAULT_IDEMPOTENCY_HEADERS = ['idempotency-key', 'x-github-delivery', 'webhook-id', 'svix-id', 'x-shopify-webhook-id'] as const;

const MAX_KEY_LENGTH = 256;

/**
 * The request's idempotency key: the trigger's header, else the first default one present.
 * Never a hash of the body — two identical alerts can be two real events. Over-long keys are
 * replaced by their SHA-256 so storage stays bounded.
 */
export function idempotencyKeyOf(headers: Readonly<Record<string, string | string[] | undefined>>, configuredHeader: string | undefined): string | null {
  // A credential header is refused when a definition is saved; one saved before that check
  // deduplicates nothing rather than store the key (and make every later delivery a duplicate).
  if (configuredHeader !== undefined && CREDENTIAL_HEADERS.has(configuredHeader)) return null;
  const names = configuredHeader === undefined ? DEFAULT_IDEMPOTENCY_HEADERS : [configuredHeader];
  for (const name of names) {
    const raw = headers[name];
    const value = firstHeaderValue(raw)?.trim();
    if (value === undefined || value === '') continue;
    return value.length > MAX_KEY_LENGTH ? `sha256:${createHash('sha256').update(value).digest('hex')}` : value;
  }
  return null;
}
