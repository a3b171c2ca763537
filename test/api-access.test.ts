import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp, type TestApp } from './helpers/app.js';
import { createTestSchema, describeWithPostgres, type TestSchema } from './helpers/postgres.js';

const KEY = 'access-shared-key-9876';
const SIGNING = 'access-signing-secret-5432';
const definition = (id: string) => ({ id, name: id, trigger: { type: 'webhook', sharedKey: KEY }, steps: [] });

/** Calls the management API with a given bearer token. */
async function as(test: TestApp, token: string | undefined, method: string, path: string, body?: unknown) {
  const response = await fetch(`${test.url}${path}`, {
    method,
    headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : JSON.parse(text) };
}

async function newToken(test: TestApp, body: Record<string, unknown>): Promise<{ id: string; token: string }> {
  const created = await test.api('POST', '/api/tokens', body);
  expect(created.status).toBe(201);
  return created.body;
}

describe('API tokens, roles and the audit log', () => {
  let test: TestApp;
  let wsA: string;
  let wsB: string;

  beforeAll(async () => {
    test = await startTestApp();
    ({ workspaceId: wsA } = await createWorkflow(test, definition('orders')));
    ({ workspaceId: wsB } = await createWorkflow(test, definition('alerts')));
  });
  afterAll(() => test.stop());

  it('creates a token shown once (201), lists it without the token, stores only its digest', async () => {
    const created = await test.api('POST', '/api/tokens', { name: 'ci deploy', role: 'editor', workspaceId: wsA });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: expect.stringMatching(/^tok_/), name: 'ci deploy', role: 'editor', workspaceId: wsA, revokedAt: null });
    expect(created.body.token).toMatch(/^hft_[A-Za-z0-9_-]{43}$/);
    const listed = await test.api('GET', '/api/tokens');
    const row = listed.body.items.find((t: { id: string }) => t.id === created.body.id);
    expect(row).toEqual({ id: created.body.id, name: 'ci deploy', role: 'editor', workspaceId: wsA, createdAt: created.body.createdAt, revokedAt: null });
    expect(JSON.stringify(listed.body)).not.toContain(created.body.token);
    // The database holds the digest, never the token.
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(`${test.dataDir}/hookflow.db`).includes(Buffer.from(created.body.token))).toBe(false);
  });

  it('refuses a bad token body with 400 naming the field, and an unknown workspace with 404', async () => {
    const bad = await test.api('POST', '/api/tokens', { name: 'x', role: 'owner' });
    expect(bad.status).toBe(400);
    expect(bad.body.details.join(' ')).toContain('role');
    expect((await test.api('POST', '/api/tokens', { name: 'x', role: 'viewer', workspaceId: 'nowhere' })).status).toBe(404);
  });

  it('a viewer reads workflows, runs and events but cannot PUT, PATCH, delete, reveal or manage tokens (403)', async () => {
    const { token } = await newToken(test, { name: 'dashboard', role: 'viewer' });
    expect((await as(test, token, 'GET', `/api/workspaces/${wsA}/workflows/orders`)).status).toBe(200);
    expect((await as(test, token, 'GET', `/api/workspaces/${wsA}/workflows/orders/runs`)).status).toBe(200);
    expect((await as(test, token, 'GET', `/api/workspaces/${wsA}/workflows/orders/events`)).status).toBe(200);
    expect((await as(test, token, 'GET', `/api/workspaces/${wsA}/workflows/orders/webhook-url`)).body.webhookUrl).not.toContain('key=');
    const put = await as(test, token, 'PUT', `/api/workspaces/${wsA}/workflows/orders`, definition('orders'));
    expect(put).toEqual({ status: 403, body: { error: 'Forbidden' } });
    expect((await as(test, token, 'PATCH', `/api/workspaces/${wsA}/workflows/orders`, { enabled: false })).status).toBe(403);
    expect((await as(test, token, 'DELETE', `/api/workspaces/${wsA}/workflows/orders`)).status).toBe(403);
    expect((await as(test, token, 'GET', `/api/workspaces/${wsA}/workflows/orders/webhook-url?reveal=true`)).status).toBe(403);
    expect((await as(test, token, 'POST', '/api/tokens', { name: 'escalate', role: 'admin' })).status).toBe(403);
    expect((await as(test, token, 'GET', '/api/audit')).status).toBe(403);
    // Nothing changed.
    expect((await test.api('GET', `/api/workspaces/${wsA}/workflows/orders`)).body).toMatchObject({ version: 1, enabled: true });
  });

  it('a token for workspace A gets 404 on workspace B, sees only A in the list, and cannot create workspaces', async () => {
    const { token } = await newToken(test, { name: 'team a', role: 'editor', workspaceId: wsA });
    expect((await as(test, token, 'GET', `/api/workspaces/${wsA}/workflows/orders`)).status).toBe(200);
    expect(await as(test, token, 'GET', `/api/workspaces/${wsB}/workflows/alerts`)).toMatchObject({ status: 404, body: { error: 'Not found' } });
    expect((await as(test, token, 'GET', `/api/workspaces/${wsB}`)).status).toBe(404);
    expect((await as(test, token, 'PATCH', `/api/workspaces/${wsB}/workflows/alerts`, { enabled: false })).status).toBe(404);
    expect((await as(test, token, 'GET', '/api/workspaces')).body.items.map((w: { id: string }) => w.id)).toEqual([wsA]);
    expect((await as(test, token, 'POST', '/api/workspaces', { id: 'sneaky', name: 'Sneaky' })).status).toBe(403);
    const patched = await as(test, token, 'PATCH', `/api/workspaces/${wsA}/workflows/orders`, { name: 'Orders v2' });
    expect(patched).toMatchObject({ status: 200, body: { name: 'Orders v2', version: 2 } });
  });

  it('a workspace admin manages only its own workspace tokens and audit entries', async () => {
    const { token } = await newToken(test, { name: 'a admin', role: 'admin', workspaceId: wsA });
    expect((await as(test, token, 'POST', '/api/tokens', { name: 'global', role: 'viewer' })).status).toBe(403);
    const own = await as(test, token, 'POST', '/api/tokens', { name: 'a viewer', role: 'viewer', workspaceId: wsA });
    expect(own.status).toBe(201);
    const listed = await as(test, token, 'GET', '/api/tokens?limit=500');
    expect(listed.body.items.every((t: { workspaceId: string }) => t.workspaceId === wsA)).toBe(true);
    const other = await newToken(test, { name: 'b viewer', role: 'viewer', workspaceId: wsB });
    expect((await as(test, token, 'DELETE', `/api/tokens/${other.id}`)).status).toBe(404);
    const audit = await as(test, token, 'GET', `/api/audit?workspaceId=${wsB}&limit=500`);
    expect(audit.status).toBe(200);
    expect(audit.body.items.length).toBeGreaterThan(0);
    expect(audit.body.items.every((entry: { workspaceId: string }) => entry.workspaceId === wsA)).toBe(true);
  });

  it('replaying a run needs the editor role, and is audited', async () => {
    const sent = await fetch(`${test.url}/api/webhook/${wsA}/orders`, { method: 'POST', headers: { 'x-webhook-key': KEY, 'content-type': 'application/json' }, body: '{"n":1}' });
    const { run_id: runId } = (await sent.json()) as { run_id: string };
    const viewer = await newToken(test, { name: 'replay viewer', role: 'viewer', workspaceId: wsA });
    const editor = await newToken(test, { name: 'replay editor', role: 'editor', workspaceId: wsA });
    expect((await as(test, viewer.token, 'GET', `/api/workspaces/${wsA}/runs/${runId}`)).status).toBe(200);
    expect((await as(test, viewer.token, 'POST', `/api/workspaces/${wsA}/runs/${runId}/replay`)).status).toBe(403);
    const replayed = await as(test, editor.token, 'POST', `/api/workspaces/${wsA}/runs/${runId}/replay`);
    expect(replayed.status).toBe(201);
    const audit = await test.api('GET', `/api/audit?workspaceId=${wsA}`);
    expect(audit.body.items[0]).toMatchObject({ action: 'run.replay', actor: { id: editor.id }, target: `/api/workspaces/${wsA}/runs/${runId}/replay`, details: { id: replayed.body.id } });
  });

  it('a revoked token is refused (401); missing and unknown tokens are 401 too', async () => {
    const { id, token } = await newToken(test, { name: 'temp', role: 'viewer' });
    expect((await as(test, token, 'GET', `/api/workspaces/${wsA}`)).status).toBe(200);
    expect((await test.api('DELETE', `/api/tokens/${id}`)).status).toBe(204);
    expect(await as(test, token, 'GET', `/api/workspaces/${wsA}`)).toEqual({ status: 401, body: { error: 'Unauthorized' } });
    expect((await test.api('DELETE', `/api/tokens/${id}`)).status).toBe(404);
    expect((await as(test, undefined, 'GET', `/api/workspaces/${wsA}`)).status).toBe(401);
    expect((await as(test, 'hft_notatokenatallnotatokenatallnotatokenatall', 'GET', `/api/workspaces/${wsA}`)).status).toBe(401);
  });

  it('audits each change and each reveal with who, what, target and address, and never a secret', async () => {
    const editor = await newToken(test, { name: 'release bot', role: 'editor' });
    await as(test, editor.token, 'PUT', `/api/workspaces/${wsB}/workflows/alerts`, { ...definition('alerts'), trigger: { type: 'webhook', signature: { scheme: 'github', secret: SIGNING } } });
    const revealed = await as(test, editor.token, 'GET', `/api/workspaces/${wsB}/workflows/alerts/webhook-url?reveal=true`);
    expect(revealed.body.webhookUrl).toContain(`key=${KEY}`);
    await as(test, editor.token, 'POST', `/api/workspaces/${wsB}/workflows/alerts/keys/rotate`, { sharedKey: 'brand-new-key-1234', graceSeconds: 0 });
    // A refused change leaves no entry.
    await as(test, editor.token, 'PATCH', `/api/workspaces/${wsB}/workflows/alerts`, { maxAttempts: -1 });

    const audit = await test.api('GET', `/api/audit?workspaceId=${wsB}&limit=500`);
    expect(audit.status).toBe(200);
    const byEditor = audit.body.items.filter((entry: { actor: { id: string } }) => entry.actor.id === editor.id);
    expect(byEditor.map((entry: { action: string }) => entry.action)).toEqual(['workflow.key.rotate', 'workflow.key.reveal', 'workflow.update']);
    expect(byEditor[2]).toMatchObject({
      actor: { id: editor.id, name: 'release bot' }, workspaceId: wsB, target: `/api/workspaces/${wsB}/workflows/alerts`,
      sourceIp: '127.0.0.1', details: { method: 'PUT', status: 200, version: 2 },
    });
    expect(Date.parse(byEditor[0].at)).not.toBeNaN();
    // Admin-token changes are attributed to "admin"; token creation is audited.
    const all = await test.api('GET', '/api/audit?limit=500');
    expect(all.body.items).toContainEqual(expect.objectContaining({ action: 'token.create', actor: { id: 'admin', name: 'admin' }, details: expect.objectContaining({ id: editor.id }) }));
    expect(all.body.items).toContainEqual(expect.objectContaining({ action: 'workflow.create', workspaceId: wsA, actor: { id: 'admin', name: 'admin' } }));
    expect(all.body.items).toContainEqual(expect.objectContaining({ action: 'workspace.create', workspaceId: wsA }));
    const text = JSON.stringify(all.body);
    for (const secret of [KEY, SIGNING, 'brand-new-key-1234', editor.token]) expect(text).not.toContain(secret);
    expect(test.logs()).not.toContain(editor.token);
  });

  it('pages the audit log with a cursor', async () => {
    const first = await test.api('GET', '/api/audit?limit=2');
    expect(first.body.items).toHaveLength(2);
    const second = await test.api('GET', `/api/audit?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.items).toHaveLength(2);
    expect(second.body.items[0].id).not.toBe(first.body.items[1].id);
    expect(Date.parse(second.body.items[0].at)).toBeLessThanOrEqual(Date.parse(first.body.items[1].at));
    expect((await test.api('GET', '/api/audit?cursor=@@bad')).status).toBe(400);
  });
});

await describeWithPostgres('API tokens across nodes on PostgreSQL', () => {
  let schema: TestSchema;
  let nodeA: TestApp;
  let nodeB: TestApp;

  beforeAll(async () => {
    schema = await createTestSchema();
    const shared = { DATABASE_URL: schema.connectionString, HOOKFLOW_MASTER_KEY: Buffer.alloc(32, 9).toString('base64') };
    nodeA = await startTestApp({ env: shared });
    nodeB = await startTestApp({ env: shared });
  });
  afterAll(async () => {
    await nodeA?.stop();
    await nodeB?.stop();
    await schema?.drop();
  });

  it('a token created on one node works on the other, and once revoked is refused on both', async () => {
    const { workspaceId } = await createWorkflow(nodeA, definition('crm'));
    const { id, token } = await newToken(nodeA, { name: 'shared', role: 'viewer', workspaceId });
    for (const node of [nodeA, nodeB]) expect((await as(node, token, 'GET', `/api/workspaces/${workspaceId}/workflows/crm`)).status).toBe(200);
    expect((await nodeB.api('DELETE', `/api/tokens/${id}`)).status).toBe(204);
    for (const node of [nodeA, nodeB]) expect((await as(node, token, 'GET', `/api/workspaces/${workspaceId}/workflows/crm`)).status).toBe(401);
    const audit = await nodeA.api('GET', `/api/audit?workspaceId=${workspaceId}`);
    expect(audit.body.items.map((entry: { action: string }) => entry.action)).toEqual(['token.revoke', 'token.create', 'workflow.create', 'workspace.create']);
  });
});
