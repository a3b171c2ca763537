import { randomBytes } from 'node:crypto';
import { describeIssues, RESOURCE_ID, workflowDefinitionSchema, type WorkflowDefinition } from '../config/workflow-definition.js';
import type { ExpressionCompiler } from '../engine/expressions/cel-engine.js';
import { checkDefinition, formatFinding } from '../engine/expressions/definition-checks.js';
import { HookflowError, isHookflowError } from '../errors/catalogue.js';
import { CREDENTIAL_HEADERS } from '../ingress/request-key.js';
import type { TriggerRegistry } from '../ingress/trigger-registry.js';
import type { SecretCipher } from '../secrets/cipher.js';
import { newId } from '../store/ids.js';
import { exceedsDepth } from '../util/value-depth.js';
import type { Page, PageRequest, SecretRecord, Store, Workspace, WorkflowRecord } from '../store/store.js';
import { SECRET_PURPOSE, secretAssociatedData } from '../secrets/secret-purposes.js';
import { credentialWarnings } from './credential-warnings.js';
import { keptSecretsMoved, secretDestinations } from './secret-destinations.js';
import { applyMergePatch } from './merge-patch.js';
import { handshakeSecretField, isSecretPlaceholder, secretPurposesOf, withoutSecrets, workflowView } from './workflow-view.js';

export interface WorkflowServiceOptions {
  store: Store;
  cipher: SecretCipher;
  registry: TriggerRegistry;
  /** Base of the webhook URLs handed out, without a trailing slash. */
  publicUrl: () => string;
  clock: () => number;
  /** Deepest JSON nesting accepted in a definition (HOOKFLOW_MAX_JSON_DEPTH); default 64. */
  maxJsonDepth?: number;
  /** Compiles CEL for the save-time checks. */
  expressions: ExpressionCompiler;
  /** The names of a workspace's secrets, for `{{secrets.NAME}}` checks. Default: none exist. */
  secretNames?: (workspaceId: string) => Promise<ReadonlySet<string>>;
  /** Told when a workflow was deleted, to drop what this process still holds of it (unsaved webhook counts). */
  onDeleted?: (workspaceId: string, workflowId: string) => void;
}

/** Grace period of the old key after a rotation, seconds (API.md). */
export const DEFAULT_ROTATION_GRACE_SECONDS = 86_400;

/**
 * Workspaces and workflows as the management API sees them. Secrets are encrypted before they
 * reach the store and are never returned after creation (a new shared key is shown once).
 */
export class WorkflowService {
  constructor(private readonly options: WorkflowServiceOptions) {}

  async createWorkspace(input: unknown): Promise<Workspace> {
    const body = asObject(input);
    const name = body['name'];
    if (typeof name !== 'string' || name.trim() === '' || name.length > 200) throw validation(['name: must be a non-empty string of at most 200 characters']);
    const id = body['id'] ?? newId('ws');
    if (typeof id !== 'string' || !RESOURCE_ID.test(id)) throw validation(['id: must be 1-64 characters of A-Z a-z 0-9 _ -']);
    const workspace = { id, name: name.trim(), createdAt: this.options.clock() };
    await this.options.store.createWorkspace(workspace);
    return workspace;
  }

  listWorkspaces(page: PageRequest): Promise<Page<Workspace>> {
    return this.options.store.listWorkspaces(page);
  }

  async requireWorkspace(workspaceId: string): Promise<Workspace> {
    const workspace = await this.options.store.getWorkspace(workspaceId);
    if (workspace === null) throw new HookflowError('HOOKFLOW_ERR_NOT_FOUND', `Workspace "${workspaceId}" not found`);
    return workspace;
  }

  /** Creates a workflow; the answer carries the shared key in `webhookUrl`, this once. */
  async createWorkflow(workspaceId: string, input: unknown): Promise<Record<string, unknown>> {
    await this.requireWorkspace(workspaceId);
    const definition = parseDefinition(input, this.options.maxJsonDepth);
    const warnings = await this.checkDefinition(workspaceId, definition);
    if (definition.trigger.signature !== undefined && definition.trigger.signature.secret === undefined) {
      throw validation(['trigger.signature.secret: required']);
    }
    const handshakeField = definition.trigger.handshake === undefined ? undefined : handshakeSecretField(definition.trigger.handshake);
    if (handshakeField !== undefined && (definition.trigger.handshake as Record<string, unknown>)[handshakeField] === undefined) {
      throw validation([`trigger.handshake.${handshakeField}: required`]);
    }
    const sharedKey = definition.trigger.sharedKey ?? generateKey();
    definition.trigger.sharedKey = sharedKey;
    const now = this.options.clock();
    const id = definition.id ?? newId('wf', now);
    const { stored, secrets } = withoutSecrets(definition);
    const record: WorkflowRecord = { workspaceId, id, version: 1, name: definition.name, enabled: definition.enabled, definition: stored, createdAt: now, updatedAt: now };
    await this.options.store.createWorkflow(record, this.encryptAll(workspaceId, id, secrets, now, secretDestinations(definition)));
    this.options.registry.invalidate(workspaceId, id);
    const created = await this.requireWorkflowRecord(workspaceId, id);
    return withWarnings(this.view(created, new Set(secrets.keys()), sharedKey), [...warnings, ...credentialWarnings(definition)]);
  }

  async getWorkflow(workspaceId: string, workflowId: string): Promise<Record<string, unknown>> {
    const record = await this.requireWorkflowRecord(workspaceId, workflowId);
    return this.view(record, await this.secretPurposes(workspaceId, workflowId));
  }

  async listWorkflows(workspaceId: string, page: PageRequest): Promise<Page<Record<string, unknown>>> {
    await this.requireWorkspace(workspaceId);
    const result = await this.options.store.listWorkflows(workspaceId, page);
    const items = await Promise.all(result.items.map(async (record) => this.view(record, await this.secretPurposes(workspaceId, record.id))));
    return { items, nextCursor: result.nextCursor };
  }

  /**
   * Replaces the definition with a new version. Secrets left out (or sent back as the
   * `{"set":true}` placeholder) keep their current value; secrets given replace it.
   */
  async updateWorkflow(workspaceId: string, workflowId: string, input: unknown): Promise<Record<string, unknown>> {
    const current = await this.requireWorkflowRecord(workspaceId, workflowId);
    const definition = parseDefinition(withoutViewFields(withoutSecretPlaceholders(input)), this.options.maxJsonDepth);
    const warnings = await this.checkDefinition(workspaceId, definition);
    const signature = definition.trigger.signature;
    if (signature !== undefined && signature.secret === undefined) {
      // Keeping the stored secret is only meaningful for the scheme it was given for.
      const stored = (current.definition as WorkflowDefinition).trigger.signature;
      if (stored?.scheme !== signature.scheme) throw validation(['trigger.signature.secret: required when adding a signature or changing its scheme']);
    }
    const handshake = definition.trigger.handshake;
    const handshakeField = handshake === undefined ? undefined : handshakeSecretField(handshake);
    if (handshakeField !== undefined && (handshake as Record<string, unknown>)[handshakeField] === undefined) {
      // As for the signature: the stored secret is kept only for the provider it was given for.
      const stored = (current.definition as WorkflowDefinition).trigger.handshake;
      if (stored?.provider !== handshake?.provider) throw validation([`trigger.handshake.${handshakeField}: required when adding a handshake or changing its provider`]);
    }
    if (definition.id !== undefined && definition.id !== workflowId) throw validation([`id: cannot change a workflow's id (is "${workflowId}")`]);
    const now = this.options.clock();
    const { stored, secrets } = withoutSecrets(definition);
    const storedSecrets = await this.options.store.listSecrets(workspaceId, workflowId);
    const moved = keptSecretsMoved({ next: definition, previous: current.definition as WorkflowDefinition, stored: storedSecrets, given: new Set(secrets.keys()) });
    if (moved.length > 0) throw validation(moved);
    const destinations = secretDestinations(definition);
    for (const secret of storedSecrets) {
      // A key stored before origins were recorded, kept at the origin just confirmed: stored
      // again bound to it, so the run-time check covers it from now on.
      if ((secret.origin ?? null) === null && destinations.has(secret.purpose) && !secrets.has(secret.purpose)) {
        secrets.set(secret.purpose, this.options.cipher.decrypt(secret.ciphertext, secretAssociatedData(secret)));
      }
    }
    const record: WorkflowRecord = { ...current, name: definition.name, enabled: definition.enabled, definition: stored, updatedAt: now };
    // Secrets of parts this version removes (an LLM step, the signature, the handshake) go with
    // them: not kept for nobody, nor taken up by a step re-added later under the same id.
    const used = secretPurposesOf(definition);
    const orphaned = [...new Set(storedSecrets.map((secret) => secret.purpose))].filter((purpose) => !used.has(purpose));
    await this.options.store.updateWorkflow(record, this.encryptAll(workspaceId, workflowId, secrets, now, destinations), [...secrets.keys(), ...orphaned]);
    this.options.registry.invalidate(workspaceId, workflowId);
    return withWarnings(await this.getWorkflow(workspaceId, workflowId), [...warnings, ...credentialWarnings(definition)]);
  }

  /**
   * A draft definition (a test run's) checked exactly as a save would check it, without saving:
   * its nesting, its schema and the save-time checks. Errors are the 400 a save would answer,
   * each detail under `definition.`; warnings (credentials in clear included) are returned.
   */
  async checkDraft(workspaceId: string, input: unknown): Promise<{ definition: WorkflowDefinition; warnings: string[] }> {
    try {
      const definition = parseDefinition(input, this.options.maxJsonDepth);
      const warnings = await this.checkDefinition(workspaceId, definition);
      return { definition, warnings: [...warnings, ...credentialWarnings(definition)] };
    } catch (error) {
      const details = isHookflowError(error, 'HOOKFLOW_ERR_VALIDATION') ? error.details : undefined;
      if (!Array.isArray(details)) throw error;
      throw validation(details.map((detail) => (String(detail).startsWith('definition') ? String(detail) : `definition.${String(detail)}`)));
    }
  }

  /**
   * The save-time checks (docs/expressions.md): errors refuse the save with a 400 naming step,
   * field and position; warnings are returned with the saved workflow.
   */
  private async checkDefinition(workspaceId: string, definition: WorkflowDefinition): Promise<string[]> {
    const knownSecrets = this.options.secretNames === undefined ? new Set<string>() : await this.options.secretNames(workspaceId);
    const { errors, warnings } = await checkDefinition(definition, { expressions: this.options.expressions, knownSecrets });
    const idempotencyHeader = definition.trigger.idempotencyHeader;
    // The idempotency key is stored in plain text: a header carrying the shared key must not be it.
    const credential = idempotencyHeader !== undefined && CREDENTIAL_HEADERS.has(idempotencyHeader)
      ? [`trigger.idempotencyHeader: "${idempotencyHeader}" carries credentials and would be stored as every delivery's idempotency key; name the sender's delivery-id header`]
      : [];
    if (errors.length + credential.length > 0) throw validation([...credential, ...errors.map(formatFinding)]);
    return warnings.map(formatFinding);
  }

  /**
   * Applies a JSON merge patch (RFC 7386) to the workflow as GET shows it, then saves the result
   * as a new version exactly like `updateWorkflow` (same validation; secret placeholders kept).
   */
  async patchWorkflow(workspaceId: string, workflowId: string, patch: unknown): Promise<Record<string, unknown>> {
    if (!isPlainObject(patch)) throw validation(['(root): a merge patch must be a JSON object']);
    const current = await this.getWorkflow(workspaceId, workflowId);
    return this.updateWorkflow(workspaceId, workflowId, applyMergePatch(current, patch));
  }

  /**
   * The workflow's production and test URLs. With `reveal`, both carry the current shared key
   * (the newest one not expiring, or else the one valid longest): the caller audits that.
   */
  async webhookUrls(workspaceId: string, workflowId: string, reveal: boolean): Promise<{ webhookUrl: string; testWebhookUrl: string }> {
    await this.requireWorkflowRecord(workspaceId, workflowId);
    let key: string | undefined;
    if (reveal) {
      const now = this.options.clock();
      const newest = (await this.options.store.listSecrets(workspaceId, workflowId))
        .filter((secret) => secret.purpose === SECRET_PURPOSE.sharedKey && (secret.expiresAt === null || secret.expiresAt > now))
        .sort((a, b) => (b.expiresAt ?? Infinity) - (a.expiresAt ?? Infinity) || b.createdAt - a.createdAt)[0];
      if (newest !== undefined) key = this.options.cipher.decrypt(newest.ciphertext, secretAssociatedData(newest));
    }
    return { webhookUrl: this.webhookUrl(workspaceId, workflowId, key), testWebhookUrl: this.webhookUrl(workspaceId, workflowId, key, true) };
  }

  async deleteWorkflow(workspaceId: string, workflowId: string): Promise<void> {
    const deleted = await this.options.store.deleteWorkflow(workspaceId, workflowId, this.options.clock());
    this.options.registry.invalidate(workspaceId, workflowId);
    if (deleted) this.options.onDeleted?.(workspaceId, workflowId);
    if (!deleted) throw new HookflowError('HOOKFLOW_ERR_NOT_FOUND', `Workflow "${workflowId}" not found`);
  }

  /**
   * Rotates the shared key (and, when given, the signature secret): the new one works at once,
   * the current ones keep working for `graceSeconds`, then are refused.
   */
  async rotateKeys(workspaceId: string, workflowId: string, input: unknown): Promise<Record<string, unknown>> {
    await this.requireWorkflowRecord(workspaceId, workflowId);
    const body = asObject(input ?? {});
    const graceSeconds = body['graceSeconds'] ?? DEFAULT_ROTATION_GRACE_SECONDS;
    if (typeof graceSeconds !== 'number' || !Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > 365 * 86_400) {
      throw validation(['graceSeconds: must be a whole number of seconds between 0 and 31536000']);
    }
    const signatureSecret = body['signatureSecret'];
    if (signatureSecret !== undefined && (typeof signatureSecret !== 'string' || signatureSecret.length === 0)) throw validation(['signatureSecret: must be a non-empty string']);
    // The shared key rotates unless the call only names a new signature secret: rotating one
    // secret must not silently replace the other (a sender needing both would start failing).
    const rotatesKey = body['sharedKey'] !== undefined || signatureSecret === undefined;
    const sharedKey = rotatesKey ? (body['sharedKey'] ?? generateKey()) : undefined;
    if (sharedKey !== undefined && (typeof sharedKey !== 'string' || sharedKey.length < 8 || sharedKey.length > 512)) throw validation(['sharedKey: must be 8-512 characters']);
    const now = this.options.clock();
    const expiresAt = now + graceSeconds * 1000;
    const fresh = new Map<string, string>();
    if (typeof sharedKey === 'string') fresh.set(SECRET_PURPOSE.sharedKey, sharedKey);
    if (typeof signatureSecret === 'string') fresh.set(SECRET_PURPOSE.signature, signatureSecret);
    const expire = (await this.options.store.listSecrets(workspaceId, workflowId))
      .filter((secret) => fresh.has(secret.purpose) && (secret.expiresAt === null || secret.expiresAt > expiresAt))
      .map((secret) => ({ id: secret.id, expiresAt }));
    await this.options.store.rotateSecrets(this.encryptAll(workspaceId, workflowId, fresh, now), expire);
    this.options.registry.invalidate(workspaceId, workflowId);
    return {
      webhookUrl: this.webhookUrl(workspaceId, workflowId, typeof sharedKey === 'string' ? sharedKey : undefined),
      previousKeysExpireAt: new Date(expiresAt).toISOString(),
    };
  }

  /**
   * Decrypts one secret of a workflow (the engine's LLM keys) with the origin it is bound to
   * (null: stored before origins were recorded).
   */
  async readBoundSecret(workspaceId: string, workflowId: string, purpose: string): Promise<{ value: string; origin: string | null } | undefined> {
    const secret = (await this.options.store.listSecrets(workspaceId, workflowId)).find((s) => s.purpose === purpose);
    if (secret === undefined) return undefined;
    return { value: this.options.cipher.decrypt(secret.ciphertext, secretAssociatedData(secret)), origin: secret.origin ?? null };
  }

  /** The workflow's current version; 404 when the workspace or the workflow does not exist (or was deleted). */
  async requireWorkflowRecord(workspaceId: string, workflowId: string): Promise<WorkflowRecord> {
    const record = await this.options.store.getWorkflow(workspaceId, workflowId);
    if (record === null) throw new HookflowError('HOOKFLOW_ERR_NOT_FOUND', `Workflow "${workflowId}" not found`);
    return record;
  }

  private async secretPurposes(workspaceId: string, workflowId: string): Promise<Set<string>> {
    return new Set((await this.options.store.listSecrets(workspaceId, workflowId)).map((secret) => secret.purpose));
  }

  /** Encrypts secrets for storage; those in `origins` are bound to that destination. */
  private encryptAll(workspaceId: string, workflowId: string, secrets: ReadonlyMap<string, string>, now: number, origins: ReadonlyMap<string, string> = new Map()): SecretRecord[] {
    return [...secrets].map(([purpose, plaintext]) => {
      const owner = { id: newId('sec', now), workspaceId, workflowId, purpose, origin: origins.get(purpose) ?? null };
      return { ...owner, ciphertext: this.options.cipher.encrypt(plaintext, secretAssociatedData(owner)), createdAt: now, expiresAt: null };
    });
  }

  private webhookUrl(workspaceId: string, workflowId: string, key?: string, test = false): string {
    const base = `${this.options.publicUrl()}/api/webhook${test ? '-test' : ''}/${encodeURIComponent(workspaceId)}/${encodeURIComponent(workflowId)}`;
    return key === undefined ? base : `${base}?key=${encodeURIComponent(key)}`;
  }

  private view(record: WorkflowRecord, purposes: ReadonlySet<string>, sharedKey?: string): Record<string, unknown> {
    return workflowView(record, purposes, {
      webhookUrl: this.webhookUrl(record.workspaceId, record.id, sharedKey),
      testWebhookUrl: this.webhookUrl(record.workspaceId, record.id, undefined, true),
    });
  }
}

function parseDefinition(input: unknown, maxJsonDepth = 64): WorkflowDefinition {
  // Before anything walks it: a deep HTTP body template would overflow the stack of the hand-over
  // to the store's writer thread (and of every run's template rendering).
  if (exceedsDepth(input, maxJsonDepth)) throw validation([`definition: nested deeper than ${maxJsonDepth} levels (HOOKFLOW_MAX_JSON_DEPTH)`]);
  const parsed = workflowDefinitionSchema.safeParse(input);
  if (!parsed.success) throw validation(describeIssues(parsed.error));
  return parsed.data;
}

/**
 * Drops the `{"set":true}` placeholders a GET shows at the secret fields (the shared key, the
 * signature secret, LLM API keys), so a definition fetched with GET can be PUT back as is and
 * keeps its stored secrets. Only those fields: elsewhere (an HTTP step's body, say) the same
 * object is the user's data.
 */
function withoutSecretPlaceholders(input: unknown): unknown {
  if (!isPlainObject(input)) return input;
  const copy: Record<string, unknown> = { ...input };
  if (isPlainObject(copy['trigger'])) {
    const trigger: Record<string, unknown> = { ...copy['trigger'] };
    if (isSecretPlaceholder(trigger['sharedKey'])) delete trigger['sharedKey'];
    if (isPlainObject(trigger['signature']) && isSecretPlaceholder(trigger['signature']['secret'])) {
      const { secret: _placeholder, ...signature } = trigger['signature'];
      trigger['signature'] = signature;
    }
    if (isPlainObject(trigger['handshake']) && typeof trigger['handshake']['provider'] === 'string') {
      const field = handshakeSecretField({ provider: trigger['handshake']['provider'] });
      if (field !== undefined && isSecretPlaceholder(trigger['handshake'][field])) {
        const handshake = { ...trigger['handshake'] };
        delete handshake[field];
        trigger['handshake'] = handshake;
      }
    }
    copy['trigger'] = trigger;
  }
  if (Array.isArray(copy['steps'])) {
    copy['steps'] = copy['steps'].map((step: unknown) => {
      if (!isPlainObject(step) || !isSecretPlaceholder(step['apiKey'])) return step;
      const { apiKey: _placeholder, ...rest } = step;
      return rest;
    });
  }
  return copy;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Fields the GET view adds that are not part of a definition; a PUT of a GET answer ignores them. */
const VIEW_ONLY_FIELDS = ['workspaceId', 'version', 'webhookUrl', 'testWebhookUrl', 'createdAt', 'updatedAt', 'warnings'];

function withoutViewFields(input: unknown): unknown {
  if (!isPlainObject(input)) return input;
  return Object.fromEntries(Object.entries(input).filter(([name]) => !VIEW_ONLY_FIELDS.includes(name)));
}

/** The save answer with `warnings` (only when there are any). */
function withWarnings(view: Record<string, unknown>, warnings: string[]): Record<string, unknown> {
  return warnings.length === 0 ? view : { ...view, warnings };
}

function generateKey(): string {
  return randomBytes(24).toString('base64url');
}

function asObject(input: unknown): Record<string, unknown> {
  if (!isPlainObject(input)) throw validation(['(root): expected a JSON object']);
  return input;
}

function validation(details: string[]): HookflowError {
  return new HookflowError('HOOKFLOW_ERR_VALIDATION', details.join('; '), { details });
}
