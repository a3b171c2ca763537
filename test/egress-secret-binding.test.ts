import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { masterKeyFromBase64, SecretCipher } from '../src/secrets/cipher.js';
import { newId } from '../src/store/ids.js';
import { secretAssociatedData } from '../src/secrets/secret-purposes.js';
import { createWorkflow, startTestApp, type TestApp } from './helpers/app.js';
import { startLoopbackServer, type Received } from './helpers/loopback.js';
import { waitForRun } from './helpers/runs.js';

/**
 * Secrets bound to their destination: an LLM key is only ever sent to the origin it was saved
 * with. Re-pointing the step while keeping the key is a 400 naming the field; after re-entering
 * the key the new origin gets the new key only; the "attacker" origin never sees the old one,
 * not even when the stored definition or the key's recorded origin is edited behind the API.
 */
const OLD_KEY = 'sk-live-old-key-bound-1a2b3c';
const NEW_KEY = 'sk-live-new-key-bound-4d5e6f';
type Server = Awaited<ReturnType<typeof startLoopbackServer>>;
const completion = (_request: Received, response: ServerResponse) => {
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify({ choices: [{ message: { content: 'done' } }] }));
};
let home: Server;
let attacker: Server;
let app: TestApp;
let ws: string;
let webhookUrl: string;

beforeAll(async () => {
  home = await startLoopbackServer(completion);
  attacker = await startLoopbackServer(completion);
  app = await startTestApp({ env: { HOOKFLOW_WORKER_CONCURRENCY: '1', HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8' } });
  ({ workspaceId: ws, webhookUrl } = await createWorkflow(app, { id: 'llm', name: 'llm', maxAttempts: 1, trigger: { type: 'webhook' }, steps: [{ id: 'ask', type: 'llm', baseUrl: `${home.url}/v1`, model: 'm', apiKey: OLD_KEY, prompt: 'hi' }] }));
});
afterAll(async () => {
  await app.stop();
  await Promise.all([home.close(), attacker.close()]);
});

async function runOnce() {
  const accepted = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  expect(accepted.status).toBe(200);
  return waitForRun(app, ws, ((await accepted.json()) as { run_id: string }).run_id);
}
const authorizations = (server: Server) => server.received.map((request) => request.headers.authorization);
const api = (method: string, body?: unknown) => app.api(method, `/api/workspaces/${ws}/workflows/llm`, body);

describe('re-pointing a step that keeps its stored key', () => {
  it('is a 400 naming the field, with the key kept as a placeholder or left out; nothing changes', async () => {
    expect((await runOnce()).status).toBe('succeeded');
    expect(authorizations(home)).toStrictEqual([`Bearer ${OLD_KEY}`]);
    const current = (await api('GET')).body;
    expect(current.steps[0].apiKey).toStrictEqual({ set: true });
    const moved = { ...current.steps[0], baseUrl: `${attacker.url}/v1` };
    const { apiKey: _kept, ...withoutKey } = moved;
    for (const steps of [[moved], [withoutKey]]) {
      const put = await api('PUT', { ...current, steps });
      expect(put.status).toBe(400);
      expect(put.body).toStrictEqual({
        error: 'Invalid request',
        details: [`steps.0.apiKey: the stored key was saved for ${home.url} and baseUrl now points to ${attacker.url}: re-enter the secret for the new destination`],
      });
    }
    // A scheme or port change is another origin too; a path change on the same origin is not.
    const otherPort = await api('PUT', { ...current, steps: [{ ...current.steps[0], baseUrl: `${home.url.replace(/:(\d+)$/, (_m, port: string) => `:${Number(port) + 1}`)}/v1` }] });
    expect(otherPort.status).toBe(400);
    expect((await api('GET')).body.version).toBe(1);
    const samePlace = await api('PUT', { ...current, steps: [{ ...current.steps[0], baseUrl: `${home.url}/v1/` }] });
    expect(samePlace.status).toBe(200);
    expect(samePlace.body.version).toBe(2);
    expect(attacker.received).toHaveLength(0);
  });

  it('after re-entering the key, the new origin gets the new key only, and never the old one', async () => {
    const current = (await api('GET')).body;
    const put = await api('PUT', { ...current, steps: [{ ...current.steps[0], baseUrl: `${attacker.url}/v1`, apiKey: NEW_KEY }] });
    expect(put.status).toBe(200);
    expect(put.body.steps[0].apiKey).toStrictEqual({ set: true });
    expect((await runOnce()).status).toBe('succeeded');
    expect(authorizations(attacker)).toStrictEqual([`Bearer ${NEW_KEY}`]);
    expect(authorizations(home)).toStrictEqual([`Bearer ${OLD_KEY}`]);
    // Moving back with the new key kept is refused the same way: the new key belongs to the new origin.
    const back = await api('PUT', { ...put.body, steps: [{ ...put.body.steps[0], baseUrl: `${home.url}/v1` }] });
    expect(back.status).toBe(400);
    expect(JSON.stringify(back.body)).not.toContain(NEW_KEY);
    expect(app.logs()).not.toContain(OLD_KEY);
    expect(app.logs()).not.toContain(NEW_KEY);
  });
});

describe('at run time, a key and its destination that disagree', () => {
  const db = () => new Database(join(app.dataDir, 'hookflow.db'));

  it('refuse the call when the stored definition was re-pointed behind the API', async () => {
    const conn = db();
    try {
      conn.prepare('UPDATE workflow_versions SET definition = replace(definition, ?, ?) WHERE workspace_id = ?').run(attacker.url, home.url, ws);
    } finally {
      conn.close();
    }
    const before = home.received.length;
    const run = await runOnce();
    expect(run.status).toBe('failed');
    expect(run.steps[0]?.error).toBe(`HOOKFLOW_ERR_SECRET_DESTINATION: the API key of step "ask" is bound to ${attacker.url}, not ${home.url}: re-enter the secret for the new destination`);
    expect(home.received).toHaveLength(before);
  });

  it('cannot be reconciled by editing the origin recorded beside the key: it no longer decrypts', async () => {
    const conn = db();
    try {
      conn.prepare("UPDATE secrets SET origin = ? WHERE workspace_id = ? AND purpose = 'steps.ask.apiKey'").run(home.url, ws);
    } finally {
      conn.close();
    }
    const before = home.received.length;
    const run = await runOnce();
    expect(run.status).toBe('failed');
    expect(run.steps[0]?.error).toMatch(/^HOOKFLOW_ERR_INTERNAL: Stored secret failed authentication/);
    expect(home.received).toHaveLength(before);
    expect(JSON.stringify(run)).not.toContain(NEW_KEY);
  });
});

describe('a key stored before origins were recorded (no origin beside it)', () => {
  const LEGACY_KEY = 'sk-live-legacy-key-7a8b9c';

  it('is judged by the previous version on an update, and bound to its origin once kept there', async () => {
    // A workflow whose LLM key row looks like one written before migration 4: no origin, and
    // associated data without one. Written through the store, as an older version would have.
    const { workspaceId, webhookUrl: url } = await createWorkflow(app, { id: 'legacy', name: 'legacy', maxAttempts: 1, trigger: { type: 'webhook' }, steps: [{ id: 'ask', type: 'llm', baseUrl: `${home.url}/v1`, model: 'm', prompt: 'hi' }] });
    const cipher = new SecretCipher(masterKeyFromBase64(readFileSync(join(app.dataDir, 'master.key'), 'utf8')));
    const owner = { id: newId('sec'), workspaceId, workflowId: 'legacy', purpose: 'steps.ask.apiKey' };
    await app.app.store.rotateSecrets([{ ...owner, ciphertext: cipher.encrypt(LEGACY_KEY, secretAssociatedData(owner)), createdAt: Date.now(), expiresAt: null }], []);
    const legacyPath = `/api/workspaces/${workspaceId}/workflows/legacy`;
    const current = (await app.api('GET', legacyPath)).body;
    expect(current.steps[0].apiKey).toStrictEqual({ set: true });

    const repointed = await app.api('PUT', legacyPath, { ...current, steps: [{ ...current.steps[0], baseUrl: `${attacker.url}/v1` }] });
    expect(repointed.status).toBe(400);
    expect(repointed.body.details).toStrictEqual([`steps.0.apiKey: the stored key was saved for ${home.url} and baseUrl now points to ${attacker.url}: re-enter the secret for the new destination`]);

    const kept = await app.api('PUT', legacyPath, { ...current, steps: [{ ...current.steps[0], prompt: 'hello' }] });
    expect(kept.status).toBe(200);
    const [secret] = (await app.app.store.listSecrets(workspaceId, 'legacy')).filter((row) => row.purpose === 'steps.ask.apiKey');
    expect(secret?.origin).toBe(home.url);

    const before = home.received.length;
    const accepted = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const run = await waitForRun(app, workspaceId, ((await accepted.json()) as { run_id: string }).run_id);
    expect(run.status).toBe('succeeded');
    expect(home.received.slice(before).map((request) => request.headers.authorization)).toStrictEqual([`Bearer ${LEGACY_KEY}`]);
    expect(attacker.received.map((request) => request.headers.authorization)).not.toContain(`Bearer ${LEGACY_KEY}`);
  });
});
