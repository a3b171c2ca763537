import type { ExpressionCompiler } from '../engine/expressions/cel-engine.js';
import { HookflowError, isHookflowError } from '../errors/catalogue.js';
import { matchesAnyDigest } from '../secrets/constant-time.js';
import { newId } from '../store/ids.js';
import { isoTime } from '../util/iso-time.js';
import type { IngestRecord, IngestResult, Store } from '../store/store.js';
import type { WebhookObservation, WebhookObserver } from './webhook-observer.js';
import { parseRequestBody, type ParsedBody } from './body-parser.js';
import { getHandshake, handshakeUsesGet, isGetHandshake, postHandshake, type HandshakeAnswer, type HandshakeOutcome, type HandshakeProvider } from './handshakes.js';
import { idempotencyKeyOf } from './idempotency.js';
import { compileIpAllowlist } from './ip-allowlist.js';
import { RateLimiter, type RateLimits } from './rate-limiter.js';
import type { RejectionLog } from './rejection-log.js';
import { findPresentedKey, firstHeaderValue, headersForStorage, type PresentedKey } from './request-key.js';
import { getSignatureScheme } from './signatures/index.js';
import { ConcurrencyKeys } from './concurrency-key.js';
import { TriggerFilters } from './trigger-filter.js';
import { validAt, type ResolvedTrigger, type TriggerRegistry } from './trigger-registry.js';

/** What the HTTP layer knows about a webhook call before reading its body. */
export interface IncomingWebhook {
  workspaceId: string;
  workflowId: string;
  /** The test endpoint: authenticated and recorded, but starts no run. */
  test: boolean;
  method: string;
  /** Node's headers: lower-cased names. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  query: Readonly<Record<string, unknown>>;
  sourceIp: string;
  /** What followed `/:ws/:wf` in the URL path (`/orders/42`), kept as `webhook.path`; absent when nothing did. */
  path?: string;
  /** Filled in while the call is handled (workflow, outcome, run), counted when it is answered. */
  observed: WebhookObservation;
}

/** A call that passed every check that needs no body. */
export interface AdmittedWebhook {
  incoming: IncomingWebhook;
  trigger: ResolvedTrigger;
  presentedKey: PresentedKey;
  /** Decoded-size limit for this trigger's bodies, bytes. */
  bodyLimit: number;
  receivedAt: number;
}

/** The 200 answer (API.md). */
export type WebhookAnswer =
  | { status: 'accepted'; workflow_started: true; run_id: string }
  | { status: 'accepted'; workflow_started: false; duplicate: true; run_id: string | null }
  | { status: 'accepted'; workflow_started: false; test: true }
  | { status: 'accepted'; workflow_started: false; filtered: true };

/** What `accept` answers: the accepted JSON, or a provider handshake's own answer. */
export type AcceptOutcome = WebhookAnswer | { handshake: HandshakeAnswer };

/** How a call must authenticate in `admit`: as the trigger says, or always / never with the shared key (GET handshakes). */
type Authentication = 'trigger' | 'key' | 'none';

export interface IngressServiceOptions {
  store: Store;
  registry: TriggerRegistry;
  rejections: RejectionLog;
  observer: WebhookObserver;
  clock: () => number;
  /** Compiles `trigger.filter` expressions. */
  expressions: ExpressionCompiler;
  /** Called after a run was committed (wakes local workers). */
  onRunQueued?: () => void;
  /** Rate-limit buckets shared by every node (REDIS_URL); default: this process's own. */
  rateLimits?: RateLimits;
  defaults: {
    maxBodyBytes: number;
    maxAttempts: number;
    idempotencyTtlSeconds: number;
    maxJsonDepth: number;
    /** Calls per source IP per minute over all triggers; 0 = no limit. */
    perIpPerMinute: number;
    /** Largest body the memory budget can hold; a trigger's larger limit is cut to it (413, not an endless 503). */
    bodyBytesCeiling?: number;
  };
}

/**
 * The webhook contract without a socket: `admit` runs the checks that need no body (lookup,
 * source, rate, key, declared size), `accept` the rest (signature, parsing, idempotency) and
 * the one durable write of event + queued run.
 */
export class IngressService {
  private readonly triggerLimits: RateLimits;
  private readonly ipLimits: RateLimits;
  private readonly allowlists = new WeakMap<ResolvedTrigger, (ip: string) => boolean>();
  private readonly filters: TriggerFilters;
  private readonly concurrencyKeys: ConcurrencyKeys;

  constructor(private readonly options: IngressServiceOptions) {
    // Shared across nodes when given (Redis); else this process's own buckets.
    this.triggerLimits = options.rateLimits ?? new RateLimiter();
    this.ipLimits = options.rateLimits ?? new RateLimiter();
    this.filters = new TriggerFilters(options.expressions);
    this.concurrencyKeys = new ConcurrencyKeys(options.expressions);
  }

  /**
   * `reserveBody` (the HTTP layer's memory budget) is called once the caller is authenticated
   * (or the trigger takes no key here) and before the trigger's quota is taken, with the body
   * limit: a call refused 503 for want of memory must not use up the sender's rate quota.
   */
  async admit(incoming: IncomingWebhook, authentication: Authentication = 'trigger', reserveBody?: (bodyLimit: number) => void): Promise<AdmittedWebhook> {
    const now = this.options.clock();
    const { defaults } = this.options;
    if (defaults.perIpPerMinute > 0) {
      const wait = await this.ipLimits.take(`ip\u0000${incoming.sourceIp}`, defaults.perIpPerMinute, now);
      if (wait > 0) {
        // Recorded only under a workflow that exists (a cached lookup): the ids in the URL are
        // the caller's choice, and invented ones must not add rows to the rejected-call log.
        const known = await this.options.registry.find(incoming.workspaceId, incoming.workflowId, now);
        await this.observe(incoming, known, now);
        throw this.refuse(incoming, 'HOOKFLOW_ERR_RATE_LIMITED', 'source_ip_rate_limit', now, { retryAfterSeconds: wait, record: known !== null });
      }
    }
    const trigger = await this.options.registry.find(incoming.workspaceId, incoming.workflowId, now);
    await this.observe(incoming, trigger, now);
    if (trigger === null || !trigger.enabled) {
      // A disabled workflow's refusals count under its own labels; unknown ids per workspace.
      incoming.observed.outcome = 'not_found';
      throw new HookflowError('HOOKFLOW_ERR_WEBHOOK_NOT_FOUND');
    }
    const { allowedIps, rateLimit, signature } = trigger.trigger;
    if (allowedIps !== undefined && !this.allowlistOf(trigger)(incoming.sourceIp)) {
      throw this.refuse(incoming, 'HOOKFLOW_ERR_FORBIDDEN', 'ip_not_allowed', now);
    }
    const presented = findPresentedKey(incoming.query, incoming.headers);
    const keyRequired = authentication === 'trigger' ? signature === undefined || signature.requireSharedKey === true : authentication === 'key';
    // Key before rate limit: only authenticated calls use up the trigger's quota, so a flood
    // of wrong keys cannot lock out the real sender.
    if (keyRequired && (presented.key === undefined || !matchesAnyDigest(presented.key, validAt(trigger.keyDigests, now)))) {
      throw this.refuse(incoming, 'HOOKFLOW_ERR_INVALID_KEY', presented.key === undefined ? 'missing_key' : 'invalid_key', now);
    }
    const bodyLimit = Math.min(trigger.trigger.maxBodyBytes ?? defaults.maxBodyBytes, defaults.bodyBytesCeiling ?? Number.POSITIVE_INFINITY);
    reserveBody?.(bodyLimit);
    if (rateLimit !== undefined) {
      // The trigger's quota is spent only by authenticated calls. With a key, the call is
      // authenticated here; with a signature only, not before its body was read and checked
      // (accept), so here an empty quota refuses early but nothing is taken: an unsigned caller
      // failing on size, encoding or content type must not use up the real sender's quota.
      const wait = keyRequired
        ? await this.triggerLimits.take(triggerKey(incoming), rateLimit.perMinute, now)
        : await this.triggerLimits.wait(triggerKey(incoming), rateLimit.perMinute, now);
      if (wait > 0) throw this.refuse(incoming, 'HOOKFLOW_ERR_RATE_LIMITED', 'trigger_rate_limit', now, { retryAfterSeconds: wait });
    }
    const declared = Number(incoming.headers['content-length']);
    const encoded = incoming.headers['content-encoding'] !== undefined && incoming.headers['content-encoding'] !== 'identity';
    if (!encoded && Number.isFinite(declared) && declared > bodyLimit) {
      throw this.refuse(incoming, 'HOOKFLOW_ERR_PAYLOAD_TOO_LARGE', 'body_too_large', now, { bodyBytes: declared });
    }
    return { incoming, trigger, presentedKey: presented, bodyLimit, receivedAt: now };
  }

  /**
   * How a call that is not a POST is taken: as a delivery (the trigger's `methods` name its
   * method), as a provider's GET handshake (Meta, X, Dropbox: a GET carrying the provider's
   * parameter), or refused with 405 naming the methods the URL takes. Unknown and disabled
   * workflows take POST only, as before: their POST finds the 404. POSTs need no lookup here.
   */
  async classify(incoming: IncomingWebhook): Promise<{ kind: 'deliver' } | { kind: 'handshake'; provider: HandshakeProvider | undefined } | { kind: 'not-allowed'; allow: string }> {
    if (incoming.method === 'POST') return { kind: 'deliver' };
    const now = this.options.clock();
    const trigger = await this.options.registry.find(incoming.workspaceId, incoming.workflowId, now);
    // A 405 decided here counts under its workflow too (admit binds it again, from the same cache).
    await this.observe(incoming, trigger, now);
    const enabled = trigger?.enabled === true ? trigger : null;
    const provider = enabled?.trigger.handshake?.provider;
    if (incoming.method === 'GET' && handshakeUsesGet(provider) && isGetHandshake(provider, incoming.query)) return { kind: 'handshake', provider };
    const methods: readonly string[] = enabled?.trigger.methods ?? ['POST'];
    if (methods.includes(incoming.method)) return { kind: 'deliver' };
    return { kind: 'not-allowed', allow: allowedMethods(enabled) };
  }

  /**
   * Admits a provider's GET handshake (see `classify`). X's and Dropbox's must carry the shared
   * key even on a signature-only trigger: X's answer is an HMAC of the caller's text under the
   * consumer secret, the same HMAC that signs X's deliveries, so an unauthenticated CRC would
   * sign anything for anyone. Meta's GET carries no key of ours; its verify token authenticates
   * it (checked in `answerGet`).
   */
  admitHandshake(incoming: IncomingWebhook, provider: HandshakeProvider | undefined): Promise<AdmittedWebhook> {
    return this.admit(incoming, provider === 'meta' ? 'none' : 'key');
  }

  /**
   * Authenticates a call to a webhook's status URL (`result` mode's 202): the workflow exists and
   * is enabled, the caller's address is allowed, and it presents the shared key — whatever the
   * trigger's signature, since a GET has nothing to sign. Takes no rate quota: polling for a
   * result must not lock out deliveries.
   */
  async authorizeStatus(incoming: IncomingWebhook): Promise<ResolvedTrigger> {
    const now = this.options.clock();
    const trigger = await this.options.registry.find(incoming.workspaceId, incoming.workflowId, now);
    if (trigger === null || !trigger.enabled) throw new HookflowError('HOOKFLOW_ERR_WEBHOOK_NOT_FOUND');
    if (trigger.trigger.allowedIps !== undefined && !this.allowlistOf(trigger)(incoming.sourceIp)) throw this.refuse(incoming, 'HOOKFLOW_ERR_FORBIDDEN', 'ip_not_allowed', now);
    const presented = findPresentedKey(incoming.query, incoming.headers);
    if (presented.key === undefined || !matchesAnyDigest(presented.key, validAt(trigger.keyDigests, now))) {
      throw this.refuse(incoming, 'HOOKFLOW_ERR_INVALID_KEY', presented.key === undefined ? 'missing_key' : 'invalid_key', now);
    }
    return trigger;
  }

  /** Answers an admitted GET handshake; null when the GET is not the provider's handshake (405). */
  async answerGet(admitted: AdmittedWebhook): Promise<HandshakeAnswer | null> {
    const { incoming, trigger } = admitted;
    const now = this.options.clock();
    const outcome = getHandshake({ provider: trigger.trigger.handshake?.provider, secret: trigger.handshakeSecret }, { query: incoming.query, rawBody: Buffer.alloc(0) });
    if (outcome.kind === 'none') return null;
    if (outcome.kind === 'refused') throw this.refuse(incoming, 'HOOKFLOW_ERR_INVALID_KEY', outcome.reason, now);
    const rateLimit = trigger.trigger.rateLimit;
    if (rateLimit !== undefined && outcome.answer.provider === 'meta') {
      // Authenticated only now, by the verify token (see admit: nothing was taken before).
      const wait = await this.triggerLimits.take(triggerKey(incoming), rateLimit.perMinute, now);
      if (wait > 0) throw this.refuse(incoming, 'HOOKFLOW_ERR_RATE_LIMITED', 'trigger_rate_limit', now, { retryAfterSeconds: wait });
    }
    return this.recordHandshake(admitted, outcome, 'null', now);
  }

  async accept(admitted: AdmittedWebhook, rawBody: Buffer): Promise<AcceptOutcome> {
    const { incoming, trigger } = admitted;
    const now = this.options.clock();
    const signature = trigger.trigger.signature;
    if (signature !== undefined) {
      const result = getSignatureScheme(signature.scheme).verify({
        rawBody,
        headers: incoming.headers,
        secrets: validAt(trigger.signatureSecrets, now),
        nowSeconds: Math.floor(now / 1000),
        options: signature,
      });
      if (!result.ok) {
        const reason = result.reason.startsWith('signature') ? result.reason : `signature_${result.reason}`;
        throw this.refuse(incoming, 'HOOKFLOW_ERR_INVALID_KEY', reason, now, { bodyBytes: rawBody.length });
      }
      // Authenticated only now (see admit): the quota is taken here when no key was required.
      const rateLimit = trigger.trigger.rateLimit;
      if (rateLimit !== undefined && signature.requireSharedKey !== true) {
        const wait = await this.triggerLimits.take(triggerKey(incoming), rateLimit.perMinute, now);
        if (wait > 0) throw this.refuse(incoming, 'HOOKFLOW_ERR_RATE_LIMITED', 'trigger_rate_limit', now, { retryAfterSeconds: wait, bodyBytes: rawBody.length });
      }
    }
    const contentType = firstHeaderValue(incoming.headers['content-type']);
    let body: ParsedBody;
    try {
      // A GET delivery's query is its body (without the key: it never reaches memory).
      const parse = trigger.trigger.parse;
      body = incoming.method === 'GET'
        ? { json: JSON.stringify(queryWithoutKey(incoming)) }
        : await parseRequestBody(rawBody, {
          contentType,
          maxJsonDepth: this.options.defaults.maxJsonDepth,
          formJsonField: parse?.formJsonField,
          textJson: parse?.textJson,
          multipart: { maxFileBytes: parse?.maxFileBytes ?? admitted.bodyLimit, maxFiles: parse?.maxFiles ?? DEFAULT_MAX_FILES, maxFields: MAX_FORM_FIELDS },
        });
    } catch (error) {
      // A multipart file over its limit is a 413 like any body over the limit; the rest are 400s.
      if (isHookflowError(error, 'HOOKFLOW_ERR_PAYLOAD_TOO_LARGE')) this.recordRefusal(incoming, error, rawBody.length);
      else incoming.observed.outcome = 'bad_request';
      throw error;
    }
    // Only now: the call is authenticated (key or signature), and its body is well-formed.
    const handshake = postHandshake(
      { provider: trigger.trigger.handshake?.provider, secret: trigger.handshakeSecret, slackSigned: signature?.scheme === 'slack' },
      { query: incoming.query, rawBody },
    );
    if (handshake.kind === 'answer') return { handshake: await this.recordHandshake(admitted, handshake, body.json, now) };
    const eventId = newId('evt', now);
    const idempotencyKey = incoming.test ? null : idempotencyKeyOf(incoming.headers, trigger.trigger.idempotencyHeader);
    // Test calls are judged as live ones are (same answer, same marking); without a filter nothing is spent here.
    const verdict = trigger.trigger.filter === undefined
      ? undefined
      : this.filters.judge(trigger, { headers: headersForStorage(incoming.headers, admitted.presentedKey), bodyJson: body.json, query: queryWithoutKey(incoming) });
    const filtered = verdict !== undefined && !verdict.matched;
    const startsRun = !incoming.test && !filtered;
    const storedHeaders = () => headersForStorage(incoming.headers, admitted.presentedKey);
    const metaBase = {
      ...this.metaOf(admitted, eventId),
      bodyBytes: rawBody.length,
      ...(idempotencyKey === null ? {} : { idempotencyKey }),
      ...(incoming.test ? { test: true } : {}),
      ...(filtered ? { filtered: true } : {}),
      ...(verdict !== undefined && !verdict.matched && verdict.error !== undefined ? { filterError: verdict.error } : {}),
    };
    const ordering = startsRun ? this.concurrencyKeys.keyFor(trigger, { headers: storedHeaders(), bodyJson: body.json, meta: metaBase }) : undefined;
    const meta = ordering?.error === undefined ? metaBase : { ...metaBase, concurrencyKeyError: ordering.error };
    const result = await this.options.store.ingest(
      {
        event: { ...eventRecord(admitted, { id: eventId, bodyJson: body.json, meta, idempotencyKey }), ...(filtered ? { filtered: true } : {}) },
        run: startsRun
          ? { id: newId('run', now), maxAttempts: trigger.maxAttempts ?? this.options.defaults.maxAttempts, ...(ordering === undefined ? {} : { concurrencyKey: ordering.key }) }
          : null,
        // A filtered call started nothing a repeat could duplicate.
        idempotency: idempotencyKey === null || filtered ? null : { key: idempotencyKey, expiresAt: now + this.options.defaults.idempotencyTtlSeconds * 1000 },
      },
      now,
    );
    if (filtered) {
      // A test call stays out of the production counts (`outcome="test"`) while answered as filtered.
      incoming.observed.outcome = incoming.test ? 'test' : 'filtered';
      return { status: 'accepted', workflow_started: false, filtered: true };
    }
    return this.answer(incoming, result);
  }

  /**
   * Stores a handshake as an event of its own (`meta.handshake` names the provider) with no run,
   * so it shows in the events list like any call, and returns its answer. The query is kept
   * without the key and without Meta's verify token.
   */
  private async recordHandshake(admitted: AdmittedWebhook, outcome: Extract<HandshakeOutcome, { kind: 'answer' }>, bodyJson: string, now: number): Promise<HandshakeAnswer> {
    const eventId = newId('evt', now);
    const base = this.metaOf(admitted, eventId);
    const { 'hub.verify_token': _verifyToken, ...query } = base.query;
    const meta = { ...base, query, handshake: outcome.answer.provider, ...(admitted.incoming.test ? { test: true } : {}) };
    await this.options.store.ingest({ event: eventRecord(admitted, { id: eventId, bodyJson, meta, idempotencyKey: null }), run: null, idempotency: null }, now);
    admitted.incoming.observed.outcome = 'handshake';
    return outcome.answer;
  }

  /** The request's metadata every stored event carries (`webhook` in run memory; API.md). */
  private metaOf(admitted: AdmittedWebhook, eventId: string) {
    const { incoming } = admitted;
    return {
      eventId,
      receivedAt: isoTime(admitted.receivedAt),
      method: incoming.method,
      query: queryWithoutKey(incoming),
      sourceIp: incoming.sourceIp,
      contentType: firstHeaderValue(incoming.headers['content-type']) ?? null,
      ...(incoming.path === undefined ? {} : { path: incoming.path }),
    };
  }

  /** Records a refusal raised outside the service (a body over the limit found while reading). */
  recordRefusal(incoming: IncomingWebhook, error: HookflowError, bodyBytes: number | null): void {
    if (error.code === 'HOOKFLOW_ERR_PAYLOAD_TOO_LARGE') this.refuse(incoming, error.code, 'body_too_large', this.options.clock(), { bodyBytes });
  }

  private answer(incoming: IncomingWebhook, result: IngestResult): WebhookAnswer {
    const { observed } = incoming;
    observed.runId = result.runId;
    if (incoming.test) {
      observed.outcome = 'test';
      return { status: 'accepted', workflow_started: false, test: true };
    }
    if (result.duplicate) {
      observed.outcome = 'duplicate';
      return { status: 'accepted', workflow_started: false, duplicate: true, run_id: result.runId };
    }
    observed.outcome = 'accepted';
    this.options.onRunQueued?.();
    return { status: 'accepted', workflow_started: true, run_id: result.runId ?? '' };
  }

  private refuse(
    incoming: IncomingWebhook,
    code: 'HOOKFLOW_ERR_RATE_LIMITED' | 'HOOKFLOW_ERR_FORBIDDEN' | 'HOOKFLOW_ERR_INVALID_KEY' | 'HOOKFLOW_ERR_PAYLOAD_TOO_LARGE',
    reason: string,
    now: number,
    extra: { retryAfterSeconds?: number; bodyBytes?: number | null; record?: boolean } = {},
  ): HookflowError {
    const error = new HookflowError(code, `Webhook refused: ${reason}`, { retryAfterSeconds: extra.retryAfterSeconds });
    incoming.observed.outcome = reason;
    const userAgent = firstHeaderValue(incoming.headers['user-agent'])?.slice(0, MAX_USER_AGENT_CHARS) ?? null;
    const call = { workspaceId: incoming.workspaceId, workflowId: incoming.workflowId, status: error.status, reason, sourceIp: incoming.sourceIp, bodyBytes: extra.bodyBytes ?? null, userAgent };
    if (extra.record === false) {
      this.options.rejections.count(call);
      return error;
    }
    this.options.rejections.record(call, now);
    return error;
  }

  /** Binds the call to its workflow's series (or its workspace's, for an unknown id). */
  private async observe(incoming: IncomingWebhook, trigger: ResolvedTrigger | null, now: number): Promise<void> {
    if (trigger !== null) this.options.observer.forTrigger(incoming.observed, trigger);
    else await this.options.observer.forUnknown(incoming.observed, incoming.workspaceId, now);
  }

  private allowlistOf(trigger: ResolvedTrigger): (ip: string) => boolean {
    let allows = this.allowlists.get(trigger);
    if (allows === undefined) {
      allows = compileIpAllowlist(trigger.trigger.allowedIps ?? []);
      this.allowlists.set(trigger, allows);
    }
    return allows;
  }
}

/** The `Allow` of a 405: the trigger's methods, with GET first when its provider handshakes with GET; POST for unknown ones. */
export function allowedMethods(trigger: ResolvedTrigger | null): string {
  const methods: readonly string[] = trigger?.trigger.methods ?? ['POST'];
  const allow = handshakeUsesGet(trigger?.trigger.handshake?.provider) && !methods.includes('GET') ? ['GET', ...methods] : methods;
  return allow.join(', ');
}

/** Files a multipart body may carry unless the trigger says otherwise (`parse.maxFiles`). */
const DEFAULT_MAX_FILES = 10;
/** Text fields a multipart body may carry. */
const MAX_FORM_FIELDS = 1000;

/** The query as stored and shown to workflows: the key never is. */
function queryWithoutKey(incoming: IncomingWebhook): Record<string, unknown> {
  const { key: _key, ...query } = incoming.query;
  return query;
}

/** The stored event of an admitted call: its headers without the key, its body and metadata. */
function eventRecord(admitted: AdmittedWebhook, event: { id: string; bodyJson: string; meta: Record<string, unknown>; idempotencyKey: string | null }): IngestRecord['event'] {
  const { incoming, trigger } = admitted;
  return {
    id: event.id,
    workspaceId: trigger.workspaceId,
    workflowId: trigger.workflowId,
    workflowVersion: trigger.version,
    receivedAt: admitted.receivedAt,
    test: incoming.test,
    headersJson: JSON.stringify(headersForStorage(incoming.headers, admitted.presentedKey)),
    bodyJson: event.bodyJson,
    metaJson: JSON.stringify(event.meta),
    idempotencyKey: event.idempotencyKey,
  };
}
/** Longest User-Agent kept with a rejected-call record. */
const MAX_USER_AGENT_CHARS = 256;

function triggerKey(incoming: IncomingWebhook): string {
  return `${incoming.workspaceId}\u0000${incoming.workflowId}`;
}

