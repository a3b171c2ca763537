/**
 * Request headers that carry credentials (the shared key, a bearer token, a session): never an
 * idempotency key, which is stored in plain text and compared across deliveries.
 */
export const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(['x-webhook-key', 'authorization', 'proxy-authorization', 'cookie']);

/** Where a shared key was found on a request; that header is removed before storing. */
export type KeySource = 'query' | 'x-webhook-key' | 'authorization' | 'none';

export interface PresentedKey {
  key: string | undefined;
  source: KeySource;
}

/**
 * Finds the shared key: `?key=`, then `X-Webhook-Key`, then `Authorization: Bearer`.
 * Headers are lower-cased Node headers.
 */
export function findPresentedKey(query: Readonly<Record<string, unknown>>, headers: Readonly<Record<string, string | string[] | undefined>>): PresentedKey {
  const fromQuery = query['key'];
  if (typeof fromQuery === 'string') return { key: fromQuery, source: 'query' };
  if (Array.isArray(fromQuery) && typeof fromQuery[0] === 'string') return { key: fromQuery[0], source: 'query' };
  const fromHeader = headers['x-webhook-key'];
  if (typeof fromHeader === 'string') return { key: fromHeader, source: 'x-webhook-key' };
  const authorization = headers['authorization'];
  if (typeof authorization === 'string' && /^bearer\s+/i.test(authorization)) {
    return { key: authorization.replace(/^bearer\s+/i, '').trim(), source: 'authorization' };
  }
  return { key: undefined, source: 'none' };
}

/**
 * Headers as stored in the event: lower-cased names, single string values, the key gone —
 * `X-Webhook-Key` always, `Authorization` when it carried the key or repeats the presented one.
 */
export function headersForStorage(headers: Readonly<Record<string, string | string[] | undefined>>, presented: PresentedKey): Record<string, string> {
  const stored: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (name === 'x-webhook-key') continue; // never store a key header, even one that didn't authenticate
    if (name === 'authorization' && (presented.source === 'authorization' || (presented.key !== undefined && typeof value === 'string' && value.includes(presented.key)))) continue;
    stored[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return stored;
}

/** A header's value as one string: Node gives an array for some repeated headers; the first counts. */
export function firstHeaderValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
