import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { changedFields, readDesiredWorkflows, toWorkflowDocument } from './workflow-files.js';

const view = {
  id: 'orders', workspaceId: 'shop', version: 3, name: 'Orders', enabled: true,
  trigger: { type: 'webhook', sharedKey: { set: true }, signature: { scheme: 'github', secret: { set: true } } },
  steps: [{ id: 'ask', type: 'llm', baseUrl: 'http://llm.test/v1', model: 'm', prompt: 'hi', apiKey: { set: true } }],
  webhookUrl: 'http://x/api/webhook/shop/orders', testWebhookUrl: 'http://x/api/webhook-test/shop/orders', createdAt: 'c', updatedAt: 'u',
};
const desired = {
  id: 'orders', name: 'Orders',
  trigger: { signature: { secret: 'gh', scheme: 'github' }, type: 'webhook' },
  steps: [{ type: 'llm', id: 'ask', prompt: 'hi', model: 'm', baseUrl: 'http://llm.test/v1', apiKey: 'sk-1' }],
};

describe('changedFields', () => {
  it('ignores key order, defaults the server fills in, view fields, and secrets it cannot see', () => {
    expect(changedFields(desired, view)).toEqual([]);
  });

  it('names the top-level fields that differ', () => {
    expect(changedFields({ ...desired, enabled: false, name: 'Other' }, view)).toEqual(['enabled', 'name']);
  });

  it('counts a secret the server does not have as a change', () => {
    const noSignature = { ...view, trigger: { type: 'webhook', sharedKey: { set: true } } };
    expect(changedFields(desired, noSignature)).toEqual(['trigger']);
  });
});

describe('readDesiredWorkflows', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hookflow-files-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('resolves ${env:NAME}, drops an unset ${env:NAME?}, and reads every YAML document', () => {
    writeFileSync(join(dir, 'a.yaml'), 'workspace: w\nid: one\nname: "${env:NAME} one"\ntrigger: {type: webhook, sharedKey: "${env:UNSET?}"}\n---\nworkspace: w\nid: two\nname: two\ntrigger: {type: webhook}\n');
    const workflows = readDesiredWorkflows(join(dir, 'a.yaml'), { NAME: 'First' });
    expect(workflows.map((w) => [w.id, w.definition['name']])).toEqual([['one', 'First one'], ['two', 'two']]);
    expect(workflows[0]?.definition['trigger']).toEqual({ type: 'webhook' });
  });

  it('reports every problem of every file together', () => {
    writeFileSync(join(dir, 'b.yaml'), 'workspace: w\nname: x\ntrigger: {type: webhook, sharedKey: "${env:MISSING_ONE}"}\nsteps: [{id: s, type: nope}]\n');
    expect(() => readDesiredWorkflows(dir, {})).toThrow(/MISSING_ONE[\s\S]*id: required[\s\S]*steps/);
  });

  it('exports secrets as optional references, which read back as absent', () => {
    const document = toWorkflowDocument(view);
    expect(document).toMatchObject({ workspace: 'shop', trigger: { sharedKey: '${env:HOOKFLOW_SECRET_SHOP_ORDERS_TRIGGER_SHAREDKEY?}' } });
    expect(document).not.toHaveProperty('version');
  });

  it('treats a handshake secret like the other secrets', () => {
    const zoom = { ...view, trigger: { type: 'webhook', sharedKey: { set: true }, handshake: { provider: 'zoom', secretToken: { set: true } } } };
    expect(toWorkflowDocument(zoom)).toMatchObject({ trigger: { handshake: { provider: 'zoom', secretToken: '${env:HOOKFLOW_SECRET_SHOP_ORDERS_TRIGGER_HANDSHAKE_SECRET?}' } } });
    const want = { ...desired, trigger: { type: 'webhook', handshake: { provider: 'zoom', secretToken: 'zoom-secret' } } };
    expect(changedFields(want, zoom)).toEqual([]);
    const unset = { ...zoom, trigger: { type: 'webhook', handshake: { provider: 'zoom' } } };
    expect(changedFields(want, unset)).toEqual(['trigger']);
  });
});
