/**
 * The console's one way to the server: same-origin fetch with the session cookie (HttpOnly: no
 * script here can read it) and, on writes, the session's CSRF token. The API token itself is
 * never kept: after sign-in only the cookie authenticates.
 */

/** A JSON number whose digits a JS number cannot hold exactly (beyond 2^53, long decimals): kept as written. */
export class ExactNumber {
  constructor(readonly source: string) {}
  toJSON(): number {
    return Number(this.source);
  }
  toString(): string {
    return this.source;
  }
}

/** The error of a refused call: status, the server's message and its field-level details. */
export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly details: string[]) {
    super(message);
  }
}

let csrfToken: string | null = null;

/** Set at sign-in and at start (GET /api/session); cleared at sign-out. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called when any call answers 401: the session ended (expired, signed out elsewhere, token revoked). */
let onUnauthorized: () => void = () => {};
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;

/** JSON.parse that keeps numbers exact (the reviver's `context.source`, where the browser has it). */
export function parseExact(text: string): unknown {
  const reviver: Reviver = (_key, value, context) => {
    if (typeof value === 'number' && context?.source !== undefined && String(value) !== context.source && !/^-?\d+\.?\d*e/i.test(context.source)) {
      return new ExactNumber(context.source);
    }
    return value;
  };
  return JSON.parse(text, reviver as (key: string, value: unknown) => unknown);
}

/** Calls the management API; resolves with the parsed answer, rejects with ApiError. */
export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
  if (method !== 'GET' && csrfToken !== null) headers['x-csrf-token'] = csrfToken;
  const response = await fetch(path, { method, headers, credentials: 'same-origin', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await response.text();
  const parsed = (text === '' ? null : parseExact(text)) as any;
  if (!response.ok) {
    if (response.status === 401 && path !== '/api/session') onUnauthorized();
    throw new ApiError(response.status, parsed?.error ?? response.statusText, Array.isArray(parsed?.details) ? parsed.details : []);
  }
  return parsed as T;
}

/** `encodeURIComponent` for path segments. */
export const seg = encodeURIComponent;
