import { RESOURCE_ID, type TriggerDefinition } from '../config/workflow-definition.js';
import { secretDigest } from '../secrets/constant-time.js';
import type { SecretCipher } from '../secrets/cipher.js';
import type { Store } from '../store/store.js';
import { SECRET_PURPOSE, secretAssociatedData } from '../secrets/secret-purposes.js';

/** A secret valid until `expiresAt` (null: no expiry). */
export interface TimedSecret<T> {
  value: T;
  expiresAt: number | null;
}

/** Everything the ingress needs to judge a request, resolved once and cached. */
export interface ResolvedTrigger {
  workspaceId: string;
  workflowId: string;
  version: number;
  enabled: boolean;
  maxAttempts: number | undefined;
  /** The workflow's `concurrency.key` expression, if it orders its runs. */
  concurrencyKey: string | undefined;
  trigger: TriggerDefinition;
  /** SHA-256 digests of the valid shared keys: the plaintext is not kept. */
  keyDigests: TimedSecret<Buffer>[];
  /** Signature secrets (HMAC needs the secret itself). */
  signatureSecrets: TimedSecret<string>[];
  /** The handshake's secret (Meta's verify token, Zoom's secret token, X's consumer secret), if any. */
  handshakeSecret: string | undefined;
}

export interface TriggerRegistryOptions {
  store: Store;
  cipher: SecretCipher;
  /** How long an entry is trusted before it is read again, ms. Bounds staleness across nodes. */
  ttlMs: number;
  /** Most entries kept (unknown ids included, so a flood of random URLs costs one read each per TTL). */
  maxEntries: number;
}

interface Entry {
  trigger: ResolvedTrigger | null;
  loadedAt: number;
}

interface Loading {
  promise: Promise<ResolvedTrigger | null>;
  /** The registry's generation when the read began. */
  generation: number;
}

/**
 * Finds triggers by the ids in the URL. There is nothing to register: a workflow is reachable as
 * soon as it exists and is enabled. Lookups are cached so the hot path makes no query; every
 * change made through this node invalidates its entry at once, and the TTL bounds how long
 * another node's change can go unseen.
 */
export class TriggerRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Loading>();
  /** Bumped by every `invalidate`: a read that began before a change must not be cached. */
  private generation = 0;

  constructor(private readonly options: TriggerRegistryOptions) {}

  async find(workspaceId: string, workflowId: string, now: number = Date.now()): Promise<ResolvedTrigger | null> {
    const cacheKey = `${workspaceId}\u0000${workflowId}`;
    const entry = this.entries.get(cacheKey);
    if (entry !== undefined && now - entry.loadedAt < this.options.ttlMs) return entry.trigger;
    // No workflow can have such an id, and the database need not see it (PostgreSQL refuses a NUL).
    if (!RESOURCE_ID.test(workspaceId) || !RESOURCE_ID.test(workflowId)) return null;
    let loading = this.loading.get(cacheKey);
    if (loading === undefined) {
      // One read per key however many requests arrive while it runs.
      const promise: Promise<ResolvedTrigger | null> = this.load(workspaceId, workflowId).finally(() => {
        if (this.loading.get(cacheKey)?.promise === promise) this.loading.delete(cacheKey);
      });
      loading = { promise, generation: this.generation };
      this.loading.set(cacheKey, loading);
    }
    const trigger = await loading.promise;
    // Calls that arrived before a change get the state they arrived in; only keep it if no change came since.
    if (loading.generation === this.generation) this.remember(cacheKey, { trigger, loadedAt: now });
    return trigger;
  }

  /** Forgets one workflow (after an update, delete or key rotation), including a read of it under way. */
  invalidate(workspaceId: string, workflowId: string): void {
    const cacheKey = `${workspaceId}\u0000${workflowId}`;
    this.generation++;
    this.entries.delete(cacheKey);
    this.loading.delete(cacheKey);
  }

  /** Forgets every workflow (changes made elsewhere may have been missed). */
  invalidateAll(): void {
    this.generation++;
    this.entries.clear();
    this.loading.clear();
  }

  private remember(cacheKey: string, entry: Entry): void {
    if (this.entries.size >= this.options.maxEntries && !this.entries.has(cacheKey)) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    this.entries.set(cacheKey, entry);
  }

  private async load(workspaceId: string, workflowId: string): Promise<ResolvedTrigger | null> {
    const { store, cipher } = this.options;
    const workflow = await store.getWorkflow(workspaceId, workflowId);
    if (workflow === null) return null;
    const definition = workflow.definition as { trigger: TriggerDefinition; maxAttempts?: number; concurrency?: { key: string } };
    const secrets = await store.listSecrets(workspaceId, workflowId);
    const keyDigests: TimedSecret<Buffer>[] = [];
    const signatureSecrets: TimedSecret<string>[] = [];
    let handshakeSecret: string | undefined;
    for (const secret of secrets) {
      if (secret.purpose === SECRET_PURPOSE.sharedKey) {
        keyDigests.push({ value: secretDigest(cipher.decrypt(secret.ciphertext, secretAssociatedData(secret))), expiresAt: secret.expiresAt });
      } else if (secret.purpose === SECRET_PURPOSE.signature) {
        signatureSecrets.push({ value: cipher.decrypt(secret.ciphertext, secretAssociatedData(secret)), expiresAt: secret.expiresAt });
      } else if (secret.purpose === SECRET_PURPOSE.handshake && definition.trigger.handshake !== undefined) {
        handshakeSecret = cipher.decrypt(secret.ciphertext, secretAssociatedData(secret));
      }
    }
    return {
      workspaceId,
      workflowId,
      version: workflow.version,
      enabled: workflow.enabled,
      maxAttempts: definition.maxAttempts,
      concurrencyKey: definition.concurrency?.key,
      trigger: definition.trigger,
      keyDigests,
      signatureSecrets,
      handshakeSecret,
    };
  }
}

/** The secrets of a list that are still valid at `now`. */
export function validAt<T>(secrets: readonly TimedSecret<T>[], now: number): T[] {
  return secrets.filter((secret) => secret.expiresAt === null || secret.expiresAt > now).map((secret) => secret.value);
}
