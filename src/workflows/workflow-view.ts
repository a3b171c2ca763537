import { HANDSHAKE_SECRET_FIELD, type HandshakeDefinition, type WorkflowDefinition } from '../config/workflow-definition.js';
import { SECRET_PURPOSE } from '../secrets/secret-purposes.js';
import type { WorkflowRecord } from '../store/store.js';

/** How a secret is shown after creation: only that it is set. */
export const SECRET_SET = Object.freeze({ set: true });

/**
 * Splits a definition into what may be stored in the clear and the secrets it carries
 * (shared key, signature secret, LLM API keys), keyed by their purpose path.
 */
export function withoutSecrets(definition: WorkflowDefinition): { stored: WorkflowDefinition; secrets: Map<string, string> } {
  const secrets = new Map<string, string>();
  const { sharedKey, signature, handshake, ...trigger } = definition.trigger;
  if (sharedKey !== undefined) secrets.set('trigger.sharedKey', sharedKey);
  let storedHandshake: HandshakeDefinition | undefined;
  if (handshake !== undefined) {
    const field = handshakeSecretField(handshake);
    const copy: Record<string, unknown> = { ...handshake };
    if (field !== undefined) {
      const secret = copy[field];
      if (typeof secret === 'string') secrets.set('trigger.handshake.secret', secret);
      delete copy[field];
    }
    storedHandshake = copy as HandshakeDefinition;
  }
  let storedSignature: WorkflowDefinition['trigger']['signature'];
  if (signature !== undefined) {
    const { secret, ...rest } = signature;
    if (secret !== undefined) secrets.set('trigger.signature.secret', secret);
    storedSignature = rest as typeof signature;
  }
  const steps = definition.steps.map((step) => {
    if (step.type !== 'llm' || step.apiKey === undefined) return step;
    const { apiKey, ...rest } = step;
    secrets.set(`steps.${step.id}.apiKey`, apiKey);
    return rest as typeof step;
  });
  const stored = {
    ...definition,
    trigger: { ...trigger, ...(storedSignature === undefined ? {} : { signature: storedSignature }), ...(storedHandshake === undefined ? {} : { handshake: storedHandshake }) },
    steps,
  };
  delete (stored as { id?: string }).id;
  return { stored, secrets };
}

/**
 * The secret purposes a definition has a place for: the shared key always; the signature
 * secret, the handshake secret and each LLM step's key only while that part exists. A stored
 * secret outside this set belongs to a removed part.
 */
export function secretPurposesOf(definition: WorkflowDefinition): Set<string> {
  const purposes = new Set<string>([SECRET_PURPOSE.sharedKey]);
  if (definition.trigger.signature !== undefined) purposes.add(SECRET_PURPOSE.signature);
  if (definition.trigger.handshake !== undefined && handshakeSecretField(definition.trigger.handshake) !== undefined) purposes.add(SECRET_PURPOSE.handshake);
  for (const step of definition.steps) if (step.type === 'llm') purposes.add(SECRET_PURPOSE.llmApiKey(step.id));
  return purposes;
}

/** The workflow as the management API shows it: secrets as `{"set":true}`. */
export function workflowView(record: WorkflowRecord, secretPurposes: ReadonlySet<string>, urls: { webhookUrl: string; testWebhookUrl: string }): Record<string, unknown> {
  const definition = record.definition as WorkflowDefinition;
  const trigger: Record<string, unknown> = { ...definition.trigger };
  if (secretPurposes.has('trigger.sharedKey')) trigger['sharedKey'] = SECRET_SET;
  if (definition.trigger.signature !== undefined) trigger['signature'] = { ...definition.trigger.signature, secret: SECRET_SET };
  const handshake = definition.trigger.handshake;
  const handshakeField = handshake === undefined ? undefined : handshakeSecretField(handshake);
  if (handshakeField !== undefined && secretPurposes.has('trigger.handshake.secret')) trigger['handshake'] = { ...handshake, [handshakeField]: SECRET_SET };
  const steps = definition.steps.map((step) =>
    step.type === 'llm' && secretPurposes.has(`steps.${step.id}.apiKey`) ? { ...step, apiKey: SECRET_SET } : step,
  );
  return {
    id: record.id,
    workspaceId: record.workspaceId,
    version: record.version,
    ...definition,
    trigger,
    steps,
    webhookUrl: urls.webhookUrl,
    testWebhookUrl: urls.testWebhookUrl,
    createdAt: new Date(record.createdAt).toISOString(),
    updatedAt: new Date(record.updatedAt).toISOString(),
  };
}

/** True for the `{"set":true}` placeholder a client may send back unchanged from a GET. */
export function isSecretPlaceholder(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 1 && (value as { set?: unknown }).set === true;
}

/** The write-only field of a handshake (`verifyToken`, `secretToken`, `consumerSecret`), if its provider has one. */
export function handshakeSecretField(handshake: { provider: string }): string | undefined {
  return Object.hasOwn(HANDSHAKE_SECRET_FIELD, handshake.provider) ? HANDSHAKE_SECRET_FIELD[handshake.provider as keyof typeof HANDSHAKE_SECRET_FIELD] : undefined;
}
