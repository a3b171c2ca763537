import { describe, expect, it } from 'vitest';
import { workflowDefinitionSchema, type WorkflowDefinition } from '../config/workflow-definition.js';
import type { SecretRecord } from '../store/store.js';
import { keptSecretsMoved, secretDestinations } from './secret-destinations.js';

const definition = (baseUrl: string, id = 'ask'): WorkflowDefinition =>
  workflowDefinitionSchema.parse({ name: 'w', trigger: { type: 'webhook' }, steps: [{ id, type: 'llm', baseUrl, model: 'm', prompt: 'p' }] });
const secret = (origin: string | null): SecretRecord => ({ id: 'sec_1', workspaceId: 'ws', workflowId: 'wf', purpose: 'steps.ask.apiKey', ciphertext: 'x', createdAt: 0, expiresAt: null, origin });

describe('secretDestinations', () => {
  it('maps each LLM key to the origin of its baseUrl', () => {
    expect(secretDestinations(definition('https://API.example.com:443/v1'))).toStrictEqual(new Map([['steps.ask.apiKey', 'https://api.example.com']]));
  });
});

describe('keptSecretsMoved', () => {
  const previous = definition('https://a.example/v1');

  it('accepts a kept key whose origin is unchanged, and any key given anew', () => {
    expect(keptSecretsMoved({ next: definition('https://a.example/v2'), previous, stored: [secret('https://a.example')], given: new Set() })).toStrictEqual([]);
    expect(keptSecretsMoved({ next: definition('https://b.example/v1'), previous, stored: [secret('https://a.example')], given: new Set(['steps.ask.apiKey']) })).toStrictEqual([]);
  });

  it('refuses a kept key sent to another origin, naming the field', () => {
    expect(keptSecretsMoved({ next: definition('https://b.example/v1'), previous, stored: [secret('https://a.example')], given: new Set() })).toStrictEqual([
      'steps.0.apiKey: the stored key was saved for https://a.example and baseUrl now points to https://b.example: re-enter the secret for the new destination',
    ]);
  });

  it('judges a key stored before origins were recorded by the previous version', () => {
    expect(keptSecretsMoved({ next: definition('https://a.example/v9'), previous, stored: [secret(null)], given: new Set() })).toStrictEqual([]);
    expect(keptSecretsMoved({ next: definition('https://b.example/v1'), previous, stored: [secret(null)], given: new Set() })).toHaveLength(1);
    // No earlier destination to compare with (the step was not an LLM step before): re-enter.
    const noLlm = workflowDefinitionSchema.parse({ name: 'w', trigger: { type: 'webhook' }, steps: [] });
    expect(keptSecretsMoved({ next: definition('https://a.example/v1'), previous: noLlm, stored: [secret(null)], given: new Set() })).toStrictEqual([
      'steps.0.apiKey: the stored key was saved for another destination and baseUrl now points to https://a.example: re-enter the secret for the new destination',
    ]);
  });

  it('ignores steps without a stored key', () => {
    expect(keptSecretsMoved({ next: definition('https://b.example/v1'), previous, stored: [], given: new Set() })).toStrictEqual([]);
  });
});
