import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';

/*
 * A secret belongs to the part of the definition that uses it. A new version that removes that
 * part (an LLM step, the signature, the handshake) removes the stored secret too: it is not kept
 * encrypted in the database for nobody, nor silently taken up again by a step re-added later
 * under the same id.
 */
let test: TestApp;
beforeAll(async () => {
  test = await startTestApp();
  expect((await test.api('POST', '/api/workspaces', { id: 'clean', name: 'clean' })).status).toBe(201);
});
afterAll(async () => {
  await test.stop();
});

const llmStep = (apiKey?: string) => ({ id: 'summary', type: 'llm', baseUrl: 'https://llm.example.com/v1', model: 'm', prompt: 'hi', ...(apiKey === undefined ? {} : { apiKey }) });
const purposes = async (workflowId: string): Promise<string[]> => (await test.app.store.listSecrets('clean', workflowId)).map((secret) => secret.purpose).sort();

describe('secrets of removed parts', () => {
  it('removing an LLM step, the signature and the handshake by PUT deletes their stored secrets; the shared key stays', async () => {
    const created = await test.api('POST', '/api/workspaces/clean/workflows', {
      id: 'full', name: 'full',
      trigger: { type: 'webhook', sharedKey: 'clean-shared-key-1', signature: { scheme: 'github', secret: 'clean-github-secret' }, handshake: { provider: 'meta', verifyToken: 'clean-verify-token' } },
      steps: [llmStep('sk-clean-llm-key')],
    });
    expect(created.status).toBe(201);
    expect(await purposes('full')).toEqual(['steps.summary.apiKey', 'trigger.handshake.secret', 'trigger.sharedKey', 'trigger.signature.secret']);

    const put = await test.api('PUT', '/api/workspaces/clean/workflows/full', { name: 'full', trigger: { type: 'webhook' }, steps: [] });
    expect(put.status).toBe(200);
    expect(await purposes('full')).toEqual(['trigger.sharedKey']);

    // The step re-added under the same id has no key until one is given.
    const readded = await test.api('PUT', '/api/workspaces/clean/workflows/full', { name: 'full', trigger: { type: 'webhook' }, steps: [llmStep()] });
    expect(readded.status).toBe(200);
    expect(readded.body.steps[0].apiKey).toBeUndefined();
    expect(await purposes('full')).toEqual(['trigger.sharedKey']);
  });

  it('a step that stays keeps its secret when the PUT leaves it out, and a PATCH removing the step deletes it', async () => {
    const created = await test.api('POST', '/api/workspaces/clean/workflows', { id: 'kept', name: 'kept', trigger: { type: 'webhook' }, steps: [llmStep('sk-clean-llm-key-2')] });
    expect(created.status).toBe(201);
    const renamed = await test.api('PUT', '/api/workspaces/clean/workflows/kept', { name: 'kept (renamed)', trigger: { type: 'webhook' }, steps: [llmStep()] });
    expect(renamed.body.steps[0].apiKey).toEqual({ set: true });
    expect(await purposes('kept')).toEqual(['steps.summary.apiKey', 'trigger.sharedKey']);
    const patched = await test.api('PATCH', '/api/workspaces/clean/workflows/kept', { steps: [] });
    expect(patched.status).toBe(200);
    expect(await purposes('kept')).toEqual(['trigger.sharedKey']);
  });
});
