import type { IncomingHttpHeaders } from 'node:http';
import { errors, request as undiciRequest, type Dispatcher } from 'undici';
import { HookflowError, isHookflowError, toError } from '../../errors/catalogue.js';
import { ANSWER_BYTES_PER_BODY_BYTE, type MemoryBudget, type Reservation } from '../../util/memory-budget.js';
import type { EgressPolicy } from './address-policy.js';
import { createGuardedAgent, egressRefused, type Resolver } from './guarded-agent.js';

export interface GuardedHttpClientOptions {
  /** Which resolved addresses requests may connect to (checked on every hop). */
  policy: EgressPolicy;
  /** Milliseconds one request may take end to end, redirects and body included. */
  defaultTimeoutMs: number;
  /** Bytes of response body kept at most; a larger body fails the request. */
  maxResponseBytes: number;
  /** Redirects followed before giving up. Default 5; 0 returns the 3xx answer as is. */
  maxRedirects?: number;
  /** Name resolution before the address check. Default: the system resolver. */
  resolve?: Resolver;
  /**
   * Process-wide budget for bytes in flight: an answer reserves its share as it is read, and
   * one that finds no room fails the step as transient (retried later, with backoff) instead
   * of growing the heap. Default none.
   */
  budget?: MemoryBudget;
}

export interface GuardedRequest {
  /** HTTP method; upper-cased before sending. */
  method: string;
  /** Absolute http: or https: URL. */
  url: string;
  /** Request headers; a name or value that could split the request is refused. Default none. */
  headers?: Readonly<Record<string, string>>;
  /** Request body. Default none. */
  body?: string | Buffer | undefined;
  /** Milliseconds for this request; default the client's `defaultTimeoutMs`. */
  timeoutMs?: number;
  /** Body cap in bytes for this request; default the client's `maxResponseBytes`. */
  maxResponseBytes?: number;
  /** Cancels the request (a worker stopping): it fails at once as a transient error. */
  signal?: AbortSignal;
  /** Which redirects are followed and what crosses to another origin. Default `any`. */
  redirects?: RedirectMode;
  /**
   * Headers (lower case) carrying a secret bound to the request's own origin: never sent to
   * another origin, whatever `redirects` says. Default none.
   */
  boundHeaders?: readonly string[];
  /**
   * A share of the memory budget to add the answer to, kept by its owner after the call (a
   * run's, released when the run ends). Without it the answer is held in a share of its own
   * while it is read.
   */
  reservation?: Reservation;
}

/**
 * How a request treats redirects:
 * - `none`: never followed; the 3xx answer is the response.
 * - `same-origin`: followed while they stay on the origin (scheme, host, port); one that
 *   leaves it is not followed and is the response.
 * - `any`: followed anywhere; on leaving the origin every header the caller set is dropped
 *   and the body is never re-sent (a 307/308 repeats the method without it).
 * - `any-with-headers`: followed anywhere with the caller's headers and (307/308) body; only
 *   `boundHeaders` stay home.
 */
export type RedirectMode = 'none' | 'same-origin' | 'any' | 'any-with-headers';

export interface GuardedResponse {
  /** HTTP status of the last hop; a 3xx when it was not followed (no Location, maxRedirects 0, or the RedirectMode). */
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The whole body, at most the cap in bytes. */
  body: Buffer;
  /** The URL that answered, after redirects. */
  url: string;
}

export interface GuardedHttpClient {
  /**
   * Sends one request. Rejects with HOOKFLOW_ERR_EGRESS_REFUSED (permanent) for a refused
   * scheme or address, HOOKFLOW_ERR_STEP_FAILED transient for network errors and timeouts,
   * HOOKFLOW_ERR_STEP_FAILED permanent for a bad request or an oversized answer.
   */
  request(request: GuardedRequest): Promise<GuardedResponse>;
  /** Closes pooled connections; waits for requests in flight. */
  close(): Promise<void>;
}

interface Hop {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: string | Buffer | undefined;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
// Fetch's "request-body-header names": meaningless once a redirect drops the body.
const BODY_HEADERS = ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location'];
// setTimeout fires at once past this, so larger timeouts are refused rather than ignored.
const MAX_TIMER_MS = 2_147_483_647;
// undici errors that describe the request itself: retrying cannot help.
const PERMANENT_UNDICI_ERRORS = [errors.InvalidArgumentError, errors.RequestContentLengthMismatchError];

/**
 * Builds the outbound HTTP client steps use. Options are checked once here; a bad value
 * throws HOOKFLOW_ERR_CONFIG. Redirects are followed here, not by undici, so each hop's
 * scheme is checked and its address goes through the guarded agent: 307/308 repeat the
 * method and body, 301/302/303 become a body-less GET (HEAD stays HEAD), and what crosses to
 * another origin is decided by the request's RedirectMode.
 */
export function createGuardedHttpClient(options: GuardedHttpClientOptions): GuardedHttpClient {
  const maxRedirects = options.maxRedirects ?? 5;
  const config = 'HOOKFLOW_ERR_CONFIG';
  requireInteger({ name: 'defaultTimeoutMs', value: options.defaultTimeoutMs, min: 1, max: MAX_TIMER_MS, code: config });
  requireInteger({ name: 'maxResponseBytes', value: options.maxResponseBytes, min: 0, code: config });
  requireInteger({ name: 'maxRedirects', value: maxRedirects, min: 0, code: config });
  const agent = createGuardedAgent({
    policy: options.policy,
    ...(options.resolve ? { resolve: options.resolve } : {}),
  });

  async function request(input: GuardedRequest): Promise<GuardedResponse> {
    const timeoutMs = input.timeoutMs ?? options.defaultTimeoutMs;
    const cap = input.maxResponseBytes ?? options.maxResponseBytes;
    const step = 'HOOKFLOW_ERR_STEP_FAILED';
    requireInteger({ name: 'timeoutMs', value: timeoutMs, min: 1, max: MAX_TIMER_MS, code: step });
    requireInteger({ name: 'maxResponseBytes', value: cap, min: 0, code: step });
    let hop: Hop = {
      method: checkMethod(input.method),
      url: parseTarget(input.url),
      headers: checkHeaders(input.headers ?? {}),
      body: input.body,
    };
    const mode = input.redirects ?? 'any';
    const boundHeaders = (input.boundHeaders ?? []).map((name) => name.toLowerCase());
    const home = hop.url.origin;

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    // Ends on the timeout or on the caller's cancel, whichever comes first.
    const signal = input.signal === undefined ? controller.signal : AbortSignal.any([controller.signal, input.signal]);
    try {
      for (let redirects = 0; ; redirects += 1) {
        const response = await undiciRequest(hop.url, {
          dispatcher: agent,
          method: hop.method,
          headers: hop.headers,
          body: hop.body,
          signal,
        });
        const location = REDIRECTS.has(response.statusCode) ? single(response.headers.location) : undefined;
        const target = location === undefined || maxRedirects === 0 || mode === 'none' ? undefined : redirectTarget(hop.url, location);
        if (target === undefined || (mode === 'same-origin' && target.origin !== hop.url.origin)) return await readAnswer(response, hop.url, cap, options.budget === undefined ? null : { budget: options.budget, into: input.reservation });
        // Drained (up to a small limit) so the connection can serve the next hop.
        await response.body.dump({ limit: 64 * 1024, signal });
        if (redirects === maxRedirects) {
          throw permanent(`request to ${hop.url.hostname} gave up after ${maxRedirects} redirects`);
        }
        hop = nextHop(hop, response.statusCode, target, { mode, boundHeaders, home });
      }
    } catch (thrown) {
      if (input.signal?.aborted === true) throw new HookflowError('HOOKFLOW_ERR_STEP_FAILED', `request to ${hop.url.hostname} cancelled`, { transient: true, cause: thrown });
      throw failure(thrown, controller.signal, hop.url.hostname, timeoutMs);
    } finally {
      clearTimeout(timer);
    }
  }

  return Object.freeze({ request, close: () => agent.close() });
}

async function readAnswer(response: Dispatcher.ResponseData, url: URL, cap: number, budget: { budget: MemoryBudget; into: Reservation | undefined } | null): Promise<GuardedResponse> {
  const tooLarge = () =>
    permanent(`response from ${url.hostname} exceeds the ${cap}-byte limit (maxResponseBytes)`);
  const noRoom = () =>
    new HookflowError('HOOKFLOW_ERR_STEP_FAILED', `no room in the memory budget for the answer from ${url.hostname}; the run is retried later`, { transient: true });
  // Added to the run's share when there is one (the answer stays in the run's memory until it
  // ends); otherwise held in a share of its own while it is read.
  const reservation = budget === null ? null : (budget.into ?? budget.budget.tryReserve(0));
  const base = reservation?.bytes ?? 0;
  if (budget !== null && (reservation === null || budget.budget.full())) {
    response.body.destroy();
    throw noRoom();
  }
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      size += bytes.length;
      if (size > cap) {
        // Destroying the body drops the connection, so the server stops sending.
        response.body.destroy();
        throw tooLarge();
      }
      if (reservation !== null && !reservation.growTo(base + size * ANSWER_BYTES_PER_BODY_BYTE)) {
        response.body.destroy();
        throw noRoom();
      }
      chunks.push(bytes);
    }
    const headers = flatten(response.headers);
    return { status: response.statusCode, headers, body: Buffer.concat(chunks), url: url.href };
  } finally {
    if (budget !== null && budget.into === undefined) reservation?.release();
  }
}

/** The absolute URL a Location points to; refused when it is not a valid http(s) URL. */
function redirectTarget(from: URL, location: string): URL {
  try {
    return parseTarget(new URL(location, from).href);
  } catch (thrown) {
    if (isHookflowError(thrown)) throw thrown;
    throw permanent(`redirect from ${from.hostname} has an invalid Location`, thrown);
  }
}

/**
 * The request a redirect asks for. What leaves the origin depends on the mode (see
 * RedirectMode); headers bound to the first origin (`home`) never reach another one.
 */
function nextHop(hop: Hop, status: number, url: URL, options: { mode: RedirectMode; boundHeaders: readonly string[]; home: string }): Hop {
  let headers = { ...hop.headers };
  let { method, body } = hop;
  // 307/308 promise the same request; the older codes are answered with a GET.
  if (status !== 307 && status !== 308 && method !== 'HEAD') {
    method = 'GET';
    body = undefined;
    dropHeaders(headers, BODY_HEADERS);
  }
  if (url.origin !== hop.url.origin && options.mode !== 'any-with-headers') {
    // Another origin gets the bare request: whatever header the step set may be a credential.
    headers = {};
    body = undefined;
  }
  if (url.origin !== options.home) dropHeaders(headers, options.boundHeaders);
  return { method, url, headers, body };
}

function parseTarget(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (thrown) {
    throw permanent('request URL is not a valid absolute URL', thrown);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    const reason = `scheme ${url.protocol} is not allowed (only http: and https:)`;
    throw egressRefused(url.hostname || url.protocol, reason);
  }
  if (url.username !== '' || url.password !== '') {
    throw permanent(`URL for ${url.hostname} carries credentials; send an Authorization header instead`);
  }
  return url;
}

function checkMethod(method: string): string {
  if (!TOKEN.test(method)) throw permanent('request method is not a valid HTTP token');
  return method.toUpperCase();
}

/** Refuses header names and values that could split or smuggle a request (CR, LF, NUL). */
function checkHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const checked: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name)) throw permanent('a request header name is not a valid HTTP token');
    // The value may be a secret: name the header, never quote the value.
    if (/[\r\n\0]/.test(value)) throw permanent(`request header ${name} contains CR, LF or NUL`);
    checked[name.toLowerCase()] = value;
  }
  return checked;
}

function dropHeaders(headers: Record<string, string>, names: readonly string[]): void {
  for (const name of names) delete headers[name];
}

function flatten(headers: IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers)
      .filter((entry): entry is [string, string | string[]] => entry[1] !== undefined)
      .map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : value]),
  );
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function failure(thrown: unknown, signal: AbortSignal, host: string, timeoutMs: number): HookflowError {
  // undici may hand back the connector's error as is or as the cause of its own.
  for (let error: unknown = thrown; error instanceof Error; error = error.cause) {
    if (isHookflowError(error)) return error;
  }
  if (signal.aborted) {
    return new HookflowError('HOOKFLOW_ERR_STEP_FAILED', `request to ${host} timed out after ${timeoutMs} ms`, {
      transient: true,
      cause: thrown,
    });
  }
  const error = toError(thrown);
  const transient = !PERMANENT_UNDICI_ERRORS.some((kind) => error instanceof kind);
  return new HookflowError('HOOKFLOW_ERR_STEP_FAILED', `request to ${host} failed: ${error.message}`, {
    transient,
    cause: error,
  });
}

function permanent(message: string, cause?: unknown): HookflowError {
  return new HookflowError('HOOKFLOW_ERR_STEP_FAILED', message, { transient: false, cause });
}

interface IntegerRule {
  name: string;
  value: number;
  min: number;
  max?: number;
  code: 'HOOKFLOW_ERR_CONFIG' | 'HOOKFLOW_ERR_STEP_FAILED';
}

function requireInteger({ name, value, min, max = Number.MAX_SAFE_INTEGER, code }: IntegerRule): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const message = `${name} must be an integer from ${min} to ${max}, got ${value}`;
    throw new HookflowError(code, message, { transient: false });
  }
}
