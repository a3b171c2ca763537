import type { WorkflowDefinition } from '../config/workflow-definition.js';
import { originOf } from '../engine/net/origin.js';
import type { SecretRecord } from '../store/store.js';
import { SECRET_PURPOSE } from '../secrets/secret-purposes.js';

/**
 * The origin each step secret of a definition is sent to, by secret purpose: today an LLM
 * step's API key goes to its `baseUrl`. Secrets that are never sent out (the shared key, the
 * signature secret) have none.
 */
export function secretDestinations(definition: WorkflowDefinition): Map<string, string> {
  const destinations = new Map<string, string>();
  for (const step of definition.steps) {
    const origin = step.type === 'llm' ? originOf(step.baseUrl) : undefined;
    if (origin !== undefined) destinations.set(SECRET_PURPOSE.llmApiKey(step.id), origin);
  }
  return destinations;
}

/**
 * Checks an update that keeps stored secrets (left out, or sent back as `{"set":true}`): each
 * kept secret must still go to the origin it was saved with, or the edit would send it to a
 * host its owner never chose. Returns one validation line per offending field (empty = fine).
 * A secret stored before origins were recorded is judged by the previous version's URL.
 */
export function keptSecretsMoved(options: {
  next: WorkflowDefinition;
  previous: WorkflowDefinition;
  stored: readonly SecretRecord[];
  /** Purposes given a new value by this update: re-entered, so bound to the new origin. */
  given: ReadonlySet<string>;
}): string[] {
  const before = secretDestinations(options.previous);
  const problems: string[] = [];
  options.next.steps.forEach((step, index) => {
    if (step.type !== 'llm') return;
    const purpose = SECRET_PURPOSE.llmApiKey(step.id);
    const kept = options.stored.find((secret) => secret.purpose === purpose);
    if (options.given.has(purpose) || kept === undefined) return;
    const savedFor = kept.origin ?? before.get(purpose);
    const now = originOf(step.baseUrl);
    if (savedFor !== undefined && savedFor === now) return;
    problems.push(
      `steps.${index}.apiKey: the stored key was saved for ${savedFor ?? 'another destination'} and baseUrl now points to ${now ?? 'another destination'}: re-enter the secret for the new destination`,
    );
  });
  return problems;
}
