import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TEST_ADMIN_TOKEN, type TestApp } from './helpers/app.js';
import { eventually, startLoopbackServer } from './helpers/loopback.js';

/**
 * Every secret hookflow is handed — shared keys (current, rotated, and wrong ones presented by
 * callers), signature secrets, LLM API keys — goes through every path that could leak it
 * (webhooks of every outcome, the test endpoint, rotation, updates, a real LLM call, failed
 * validation), then the SQLite files and the captured logs are searched byte for byte.
 */
const S = {
  key: 'at-rest-shared-key-0a1b2c3d',
  rotatedKey: 'at-rest-rotated-key-4e5f6a7b',
  wrongQuery: 'at-rest-wrong-query-key-8c9d',
  wrongHeader: 'at-rest-wrong-header-key-0e1f',
  wrongBearer: 'at-rest-wrong-bearer-key-2a3b',
  signature: 'at-rest-gh-secret-4c5d6e7f',
  rotatedSignature: 'at-rest-gh-secret-rotated-8a9b',
  llm: 'sk-at-rest-llm-key-0c1d2e3f',
  llmUpdated: 'sk-at-rest-llm-key-updated-4a5b',
  llmInvalid: 'sk-at-rest-llm-key-in-invalid-6c7d',
};

let app: TestApp;
let llm: Awaited<ReturnType<typeof startLoopbackServer>>;

/** The secrets found in plaintext in any file of `dir` or in `logs`. */
function plaintextFound(dir: string, logs: string, secrets: readonly string[]): string[] {
  const bytes = Buffer.concat(readdirSync(dir).map((name) => readFileSync(join(dir, name))));
  return secrets.filter((secret) => bytes.includes(secret) || logs.includes(secret));
}

async function call(path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  const response = await fetch(`${app.url}${path}`, { method: init.method ?? 'POST', headers: { 'content-type': 'application/json', ...init.headers }, ...(init.method === 'GET' ? {} : { body: init.body ?? '{"n":1}' }) });
  await response.arrayBuffer();
  return response.status;
}

beforeAll(async () => {
  // Answers like an OpenAI-compatible server — and, when asked to, echoes the API key back in
  // an error body, as some providers do, to prove it does not reach a step error.
  llm = await startLoopbackServer((request, response) => {
    response.setHeader('content-type', 'application/json');
    if (request.url.includes('/echo')) {
      response.statusCode = 401;
      response.end(JSON.stringify({ error: `bad key ${String(request.headers.authorization)}` }));
      return;
    }
    response.end(JSON.stringify({ choices: [{ message: { role: 'assistant', content: 'summary' } }] }));
  });
  app = await startTestApp({ keepDataDir: true, env: { LOG_LEVEL: 'trace', HOOKFLOW_WORKER_CONCURRENCY: '1', HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8' } });
  expect((await app.api('POST', '/api/workspaces', { id: 'vault', name: 'Vault' })).status).toBe(201);
});
afterAll(async () => {
  await app.stop();
  rmSync(app.dataDir, { recursive: true, force: true });
  await llm.close();
});

describe('no secret in plaintext, anywhere', () => {
  it('after every kind of call, neither the SQLite files nor the logs contain a secret', async () => {
    const keyed = await app.api('POST', '/api/workspaces/vault/workflows', {
      id: 'keyed',
      name: 'keyed',
      maxAttempts: 1,
      trigger: { type: 'webhook', sharedKey: S.key, headerMemory: 'headers', bodyMemory: 'body' },
      steps: [{ id: 'summary', type: 'llm', baseUrl: llm.url, model: 'm', apiKey: S.llm, prompt: 'Summarise {{body}}', output: 'summary' }],
    });
    expect(keyed.status).toBe(201);
    const signed = await app.api('POST', '/api/workspaces/vault/workflows', {
      id: 'signed',
      name: 'signed',
      maxAttempts: 1,
      trigger: { type: 'webhook', signature: { scheme: 'github', secret: S.signature }, headerMemory: 'headers' },
      steps: [{ id: 'leaky', type: 'llm', baseUrl: `${llm.url}/echo`, model: 'm', apiKey: S.llm, prompt: 'x' }],
    });
    expect(signed.status).toBe(201);
    const sign = (secret: string, body: string) => ({ 'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` });

    // Webhooks of every outcome, with the key in each place it may travel.
    const accepted = [
      await call(`/api/webhook/vault/keyed?key=${S.key}`),
      await call('/api/webhook/vault/keyed', { headers: { 'x-webhook-key': S.key } }),
      await call('/api/webhook/vault/keyed', { headers: { authorization: `Bearer ${S.key}` } }),
      await call(`/api/webhook-test/vault/keyed?key=${S.key}`),
      await call('/api/webhook/vault/signed', { headers: sign(S.signature, '{"n":1}') }),
      // The query parser decodes parameter names: `%6Bey` is `key`, and the access log must see it so.
      await call(`/api/webhook/vault/keyed?%6Bey=${S.key}`),
    ];
    expect(accepted).toStrictEqual([200, 200, 200, 200, 200, 200]);
    const refused = [
      await call(`/api/webhook/vault/keyed?key=${S.wrongQuery}`),
      await call('/api/webhook/vault/keyed', { headers: { 'x-webhook-key': S.wrongHeader } }),
      await call('/api/webhook/vault/keyed', { headers: { authorization: `Bearer ${S.wrongBearer}` } }),
      await call(`/api/webhook/vault/keyed?key=${S.key}`, { body: '{broken' }),
      await call(`/api/webhook/vault/nope?key=${S.key}`),
      await call(`/api/webhook/vault/keyed?key=${S.key}`, { method: 'GET' }),
      await call('/api/webhook/vault/signed', { headers: sign(S.wrongQuery, '{"n":1}') }),
      await call(`/api/webhook/vault/keyed?k%65y=${S.wrongQuery}`),
    ];
    expect(refused).toStrictEqual([401, 401, 401, 400, 404, 405, 401, 401]);

    // Rotation of both kinds, an update with a new LLM key, a definition that fails validation.
    expect((await app.api('POST', '/api/workspaces/vault/workflows/keyed/keys/rotate', { sharedKey: S.rotatedKey, graceSeconds: 60 })).status).toBe(200);
    expect((await app.api('POST', '/api/workspaces/vault/workflows/signed/keys/rotate', { signatureSecret: S.rotatedSignature })).status).toBe(200);
    expect(await call('/api/webhook/vault/keyed', { headers: { 'x-webhook-key': S.rotatedKey } })).toBe(200);
    expect(await call('/api/webhook/vault/signed', { headers: sign(S.rotatedSignature, '{"n":1}') })).toBe(200);
    const fetched = await app.api('GET', '/api/workspaces/vault/workflows/keyed');
    // Dropping the view-only fields is optional since PUT ignores them (tested below); kept to show a minimal PUT.
    const { workspaceId: _w, version: _v, webhookUrl: _u, testWebhookUrl: _t, createdAt: _c, updatedAt: _d, ...definition } = fetched.body;
    const put = await app.api('PUT', '/api/workspaces/vault/workflows/keyed', { ...definition, steps: [{ ...definition.steps[0], apiKey: S.llmUpdated }] });
    expect(put.status).toBe(200);
    const invalid = await app.api('POST', '/api/workspaces/vault/workflows', {
      name: 'invalid',
      trigger: { type: 'webhook', sharedKey: 'short' },
      steps: [{ id: 'x', type: 'llm', baseUrl: 'not a url', model: 'm', apiKey: S.llmInvalid, prompt: 'p' }],
    });
    expect(invalid.status).toBe(400);
    expect(JSON.stringify(invalid.body)).not.toContain(S.llmInvalid);

    // Real runs: the LLM key is decrypted for the call, and an error body echoing it is not kept.
    const runs = await eventually(async () => {
      const listed = [
        ...(await app.api('GET', '/api/workspaces/vault/workflows/keyed/runs')).body.items,
        ...(await app.api('GET', '/api/workspaces/vault/workflows/signed/runs')).body.items,
      ];
      return listed.length === 7 && listed.every((run: { status: string }) => run.status === 'succeeded' || run.status === 'failed') ? listed : undefined;
    });
    expect(runs.filter((run: { status: string }) => run.status === 'failed')).toHaveLength(2);
    expect(llm.received.some((request) => request.headers.authorization === `Bearer ${S.llm}`)).toBe(true);

    // Everything the API returns about these workflows, runs and events is clean too.
    const views = [
      fetched.body,
      (await app.api('GET', '/api/workspaces/vault/workflows')).body,
      ...(await Promise.all(runs.map((run: { id: string }) => app.api('GET', `/api/workspaces/vault/runs/${run.id}`)))).map((r) => r.body),
      ...(await Promise.all(['keyed', 'signed'].flatMap((wf) => ['', '?test=true', '?rejected=true'].map((q) => app.api('GET', `/api/workspaces/vault/workflows/${wf}/events${q}`))))).map((r) => r.body),
    ];
    const apiText = JSON.stringify(views);
    const secrets = [...Object.values(S), TEST_ADMIN_TOKEN];
    expect(secrets.filter((secret) => apiText.includes(secret))).toStrictEqual([]);

    await new Promise((resolve) => setTimeout(resolve, 200)); // let fire-and-forget rejection records land
    expect(plaintextFound(app.dataDir, app.logs(), secrets)).toStrictEqual([]);
    // The calls were logged (one line each, without their URL), so the scan above had them to read.
    expect(app.logs().match(/"msg":"webhook"/g)?.length ?? 0).toBeGreaterThan(5);
  });

  it('control: the scan does see plaintext that was legitimately stored (a webhook body)', async () => {
    const CANARY = 'at-rest-canary-body-text-5e6f';
    const created = await app.api('POST', '/api/workspaces/vault/workflows', { id: 'canary', name: 'canary', trigger: { type: 'webhook', sharedKey: 'at-rest-canary-key-7a8b' } });
    expect(created.status).toBe(201);
    expect(await call('/api/webhook/vault/canary?key=at-rest-canary-key-7a8b', { body: JSON.stringify({ note: CANARY }) })).toBe(200);
    expect(plaintextFound(app.dataDir, '', [CANARY])).toStrictEqual([CANARY]);
  });

  // BUG (see report): README says "a definition fetched with GET can be PUT back unchanged
  // (placeholders keep the stored secret)", but the GET view adds workspaceId, version,
  // webhookUrl, testWebhookUrl, createdAt and updatedAt, which the strict definition schema
  // (src/config/workflow-definition.ts, `.strict()`) refuses: PUT answers 400.
  it('a workflow fetched with GET can be PUT back unchanged, keeping its secrets', async () => {
    const KEY = 'at-rest-roundtrip-key-3c4d';
    const created = await app.api('POST', '/api/workspaces/vault/workflows', { id: 'roundtrip', name: 'roundtrip', trigger: { type: 'webhook', sharedKey: KEY } });
    expect(created.status).toBe(201);
    const fetched = await app.api('GET', '/api/workspaces/vault/workflows/roundtrip');
    const put = await app.api('PUT', '/api/workspaces/vault/workflows/roundtrip', fetched.body);
    expect(put.status).toBe(200);
    expect(await call('/api/webhook/vault/roundtrip', { headers: { 'x-webhook-key': KEY } })).toBe(200);
  });

  it('a workflow with a signature fetched with GET can be PUT back unchanged, and still verifies with its secret', async () => {
    const SECRET = 'at-rest-roundtrip-signature-5e6f';
    const created = await app.api('POST', '/api/workspaces/vault/workflows', {
      id: 'signed-roundtrip', name: 'signed', trigger: { type: 'webhook', signature: { scheme: 'github', secret: SECRET } },
    });
    expect(created.status).toBe(201);
    const fetched = await app.api('GET', '/api/workspaces/vault/workflows/signed-roundtrip');
    expect(fetched.body.trigger.signature).toStrictEqual({ scheme: 'github', secret: { set: true } });
    const put = await app.api('PUT', '/api/workspaces/vault/workflows/signed-roundtrip', fetched.body);
    expect(put.status).toBe(200);
    expect(put.body.version).toBe(2);
    const body = '{"action":"opened"}';
    const signed = (secret: string) => ({ body, headers: { 'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` } });
    expect(await call('/api/webhook/vault/signed-roundtrip', signed(SECRET))).toBe(200);
    expect(await call('/api/webhook/vault/signed-roundtrip', signed('some-other-secret'))).toBe(401);
  });

  it('asks for the signature secret when a signature is added or its scheme changes', async () => {
    const noSecret = { type: 'webhook', signature: { scheme: 'stripe' } };
    const create = await app.api('POST', '/api/workspaces/vault/workflows', { id: 'unsigned', name: 'unsigned', trigger: noSecret });
    expect(create.status).toBe(400);
    expect(create.body.details).toStrictEqual(['trigger.signature.secret: required']);

    expect((await app.api('POST', '/api/workspaces/vault/workflows', { id: 'to-sign', name: 'to-sign', trigger: { type: 'webhook', sharedKey: 'at-rest-to-sign-key-1a2b' } })).status).toBe(201);
    const added = await app.api('PUT', '/api/workspaces/vault/workflows/to-sign', { name: 'to-sign', trigger: { ...noSecret, signature: { scheme: 'stripe', secret: { set: true } } } });
    expect(added.status).toBe(400);
    expect(added.body.details).toStrictEqual(['trigger.signature.secret: required when adding a signature or changing its scheme']);

    expect((await app.api('POST', '/api/workspaces/vault/workflows', { id: 'rescheme', name: 'rescheme', trigger: { type: 'webhook', signature: { scheme: 'github', secret: 'at-rest-rescheme-secret' } } })).status).toBe(201);
    const changed = await app.api('PUT', '/api/workspaces/vault/workflows/rescheme', { name: 'rescheme', trigger: noSecret });
    expect(changed.status).toBe(400);
    expect(changed.body.details).toStrictEqual(['trigger.signature.secret: required when adding a signature or changing its scheme']);
  });

  it('keeps {"set":true} in user data (an HTTP step body) across GET and PUT: only secret fields are placeholders', async () => {
    const step = { id: 'notify', type: 'http', method: 'POST', url: 'http://127.0.0.1:9/hook', body: { feature: { set: true }, name: 'x' } };
    const created = await app.api('POST', '/api/workspaces/vault/workflows', { id: 'user-data', name: 'user-data', trigger: { type: 'webhook' }, steps: [step] });
    expect(created.status).toBe(201);
    const fetched = await app.api('GET', '/api/workspaces/vault/workflows/user-data');
    const put = await app.api('PUT', '/api/workspaces/vault/workflows/user-data', fetched.body);
    expect(put.status).toBe(200);
    expect(put.body.steps[0].body).toStrictEqual({ feature: { set: true }, name: 'x' });
  });

  // BUG (see report): src/ingress/request-key.ts headersForStorage (line ~33) drops
  // `authorization` only when the key was *taken* from it. A sender that puts the key in both
  // `?key=` (or X-Webhook-Key) and `Authorization: Bearer` gets its real shared key stored in
  // plaintext in the event headers (and handed to the workflow through headerMemory).
  it('a key sent both in ?key= and in Authorization: Bearer is not stored', async () => {
    const KEY = 'at-rest-double-sent-key-9e8f';
    const created = await app.api('POST', '/api/workspaces/vault/workflows', { id: 'double', name: 'double', trigger: { type: 'webhook', sharedKey: KEY, headerMemory: 'headers' } });
    expect(created.status).toBe(201);
    expect(await call(`/api/webhook/vault/double?key=${KEY}`, { headers: { authorization: `Bearer ${KEY}` } })).toBe(200);
    const events = await app.api('GET', '/api/workspaces/vault/workflows/double/events');
    expect(JSON.stringify(events.body)).not.toContain(KEY);
    expect(plaintextFound(app.dataDir, app.logs(), [KEY])).toStrictEqual([]);
  });
});
