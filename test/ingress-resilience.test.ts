import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp, type TestApp } from './helpers/app.js';
import { eventually, startLoopbackServer } from './helpers/loopback.js';

const apps: TestApp[] = [];
afterAll(async () => {
  for (const app of apps) await app.stop();
});

async function start(env: Record<string, string> = {}) {
  const app = await startTestApp({ env });
  apps.push(app);
  return app;
}

describe('storage trouble', () => {
  it('answers 503 with Retry-After while the database is locked, and 200 once it is free', async () => {
    const test = await start({ HOOKFLOW_SQLITE_BUSY_TIMEOUT_MS: '50', HOOKFLOW_RETRY_AFTER_SECONDS: '7' });
    const { webhookUrl } = await createWorkflow(test, { name: 'locked', trigger: { type: 'webhook' } });
    const intruder = new Database(join(test.dataDir, 'hookflow.db'));
    intruder.pragma('busy_timeout = 5000');
    intruder.exec('BEGIN EXCLUSIVE');
    try {
      const refused = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":1}' });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('7');
      expect(await refused.json()).toEqual({ error: 'Service unavailable' });
      // Not ready either: webhooks cannot be committed, though reads still answer.
      const readiness = await fetch(`${test.url}/readyz`);
      expect([readiness.status, readiness.headers.get('retry-after')]).toEqual([503, '7']);
      expect(await readiness.json()).toMatchObject({ status: 'unavailable', storage: 'sqlite', reason: expect.stringMatching(/^database locked \(SQLITE_BUSY/) });
    } finally {
      intruder.exec('ROLLBACK');
      intruder.close();
    }
    const accepted = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":2}' });
    expect(accepted.status).toBe(200);
    expect((await fetch(`${test.url}/readyz`)).status).toBe(200);
    // An expected refusal: one warn line without a stack, nothing at error.
    const logged = test.logs().split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as { level: number; msg: string; err?: unknown });
    expect(logged.filter((line) => line.level >= 50)).toEqual([]);
    expect(logged.filter((line) => line.msg === 'request refused; sender asked to retry')).toEqual([expect.objectContaining({ level: 40, code: 'HOOKFLOW_ERR_STORAGE_UNAVAILABLE' })]);
    expect(logged.some((line) => line.err !== undefined)).toBe(false);
  });

  it('never leaves a request hanging: a commit that cannot finish in time is a 503', async () => {
    const test = await start({ HOOKFLOW_SQLITE_BUSY_TIMEOUT_MS: '60000', HOOKFLOW_WRITE_TIMEOUT_MS: '300' });
    const { webhookUrl } = await createWorkflow(test, { name: 'slow', trigger: { type: 'webhook' } });
    const intruder = new Database(join(test.dataDir, 'hookflow.db'));
    intruder.exec('BEGIN EXCLUSIVE');
    try {
      const refused = await fetch(webhookUrl, { method: 'POST', body: '{}' });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).not.toBeNull();
    } finally {
      intruder.exec('ROLLBACK');
      intruder.close();
    }
  });

  it('never stores a webhook it answered 503: the sender will retry it', async () => {
    const test = await start({ HOOKFLOW_SQLITE_BUSY_TIMEOUT_MS: '60000', HOOKFLOW_WRITE_TIMEOUT_MS: '300' });
    const { workspaceId, workflowId, webhookUrl } = await createWorkflow(test, { name: 'late', trigger: { type: 'webhook', bodyMemory: 'body' } });
    const post = (n: number) => fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n }) });
    const intruder = new Database(join(test.dataDir, 'hookflow.db'));
    intruder.exec('BEGIN EXCLUSIVE');
    let refused: number[];
    try {
      // The first waits inside the writer for the lock; the others queue behind it.
      refused = (await Promise.all([1, 2, 3].map(post))).map((answer) => answer.status);
    } finally {
      intruder.exec('ROLLBACK');
      intruder.close();
    }
    expect(refused).toEqual([503, 503, 503]);
    // The writer works in order: once this one is committed, the three above were dealt with.
    expect((await post(4)).status).toBe(200);
    const events = await test.api('GET', `/api/workspaces/${workspaceId}/workflows/${workflowId}/events`);
    expect(events.body.items.map((event: { body: { n: number } }) => event.body.n)).toEqual([4]);
  });
});

describe('shutdown', () => {
  it('finishes a webhook in flight, and answers one that arrives during shutdown 503 with the contract body', async () => {
    const app = await startTestApp({ env: { HOOKFLOW_RETRY_AFTER_SECONDS: '9' } });
    const { webhookUrl } = await createWorkflow(app, { name: 'closing', trigger: { type: 'webhook', sharedKey: 'closing-key-123' } });
    const { pathname, search, port } = new URL(webhookUrl);
    const body = '{"n":1}';
    const head = `POST ${pathname}${search} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise((resolve) => socket.once('connect', resolve));
    // Request 1 is in flight (its body incomplete) when the server starts to close…
    socket.write(head + body.slice(0, 3));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const stopping = app.stop();
    // Closing has begun once the server refuses new connections.
    const refusesConnections = () => new Promise<true | undefined>((resolve) => {
      const probe = connect(Number(port), '127.0.0.1');
      probe.once('connect', () => {
        probe.destroy();
        resolve(undefined);
      });
      probe.once('error', () => resolve(true));
    });
    await eventually(refusesConnections);
    // …then it completes, and request 2 follows on the same connection.
    socket.write(body.slice(3) + head + body);
    await ended;
    await stopping;
    const answers = received.split(/(?=HTTP\/1\.1 )/);
    expect(answers, received).toHaveLength(2);
    expect(answers[0]).toMatch(/^HTTP\/1\.1 200 /);
    expect(answers[0]).toContain('"status":"accepted"');
    expect(answers[1]).toMatch(/^HTTP\/1\.1 503 /);
    expect(answers[1]).toMatch(/\r\nretry-after: 9\r\n/i);
    expect(answers[1]).toMatch(/\r\nconnection: close\r\n/i);
    expect(answers[1]).toMatch(/\r\n\r\n\{"error":"Service unavailable"\}$/);
  });
});

describe('the answer never waits on workers', () => {
  it('accepts webhooks while every worker is busy; the runs wait queued', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const slow = await startLoopbackServer((_request, response) => {
      void held.then(() => response.end('done'));
    });
    const test = await start({ HOOKFLOW_WORKER_CONCURRENCY: '1', HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8' });
    try {
      const { workspaceId, webhookUrl } = await createWorkflow(test, {
        name: 'busy', trigger: { type: 'webhook' }, steps: [{ id: 'wait', type: 'http', method: 'GET', url: `${slow.url}/hold`, timeoutMs: 60_000 }],
      });
      const first = (await (await fetch(webhookUrl, { method: 'POST', body: '{}' })).json()) as { run_id: string };
      await eventually(async () => (slow.received.length === 1 ? true : undefined));
      const answers = await Promise.all(Array.from({ length: 20 }, () => fetch(webhookUrl, { method: 'POST', body: '{}' })));
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
      const runs = await Promise.all(answers.map(async (a) => test.api('GET', `/api/workspaces/${workspaceId}/runs/${((await a.json()) as { run_id: string }).run_id}`)));
      expect(runs.map((r) => r.body.status)).toEqual(Array(20).fill('queued'));
      expect(slow.received.length).toBe(1);
      expect((await test.api('GET', `/api/workspaces/${workspaceId}/runs/${first.run_id}`)).body.status).toBe('running');
    } finally {
      release();
      await slow.close();
    }
  });
});

describe('secrets at rest and in logs', () => {
  it('keeps shared keys, signature secrets and LLM keys out of the database files and the logs', async () => {
    const test = await start();
    const sharedKey = 'plaintext-shared-key-MARKER-1';
    const signatureSecret = 'plaintext-signature-secret-MARKER-2';
    const llmKey = 'sk-plaintext-llm-key-MARKER-3';
    const { workspaceId, workflowId, webhookUrl } = await createWorkflow(test, {
      name: 'secrets',
      trigger: { type: 'webhook', sharedKey, signature: { scheme: 'hmac-sha256', secret: signatureSecret, requireSharedKey: true } },
      steps: [{ id: 'ask', type: 'llm', baseUrl: 'https://llm.example.com/v1', model: 'm', apiKey: llmKey, prompt: 'hi' }],
    });
    // Calls that present the key in each place, right and wrong.
    await fetch(webhookUrl, { method: 'POST', body: '{}' });
    await fetch(`${test.url}/api/webhook/${workspaceId}/${workflowId}`, { method: 'POST', headers: { 'x-webhook-key': sharedKey }, body: '{}' });
    await fetch(`${test.url}/api/webhook/${workspaceId}/${workflowId}`, { method: 'POST', headers: { authorization: `Bearer ${sharedKey}` }, body: '{}' });
    await fetch(`${test.url}/api/webhook/${workspaceId}/${workflowId}?key=${sharedKey}x`, { method: 'POST', body: '{}' });
    await test.api('POST', `/api/workspaces/${workspaceId}/workflows/${workflowId}/keys/rotate`, { graceSeconds: 60 });
    const shown = await test.api('GET', `/api/workspaces/${workspaceId}/workflows/${workflowId}`);
    expect(shown.body.trigger.sharedKey).toEqual({ set: true });
    expect(shown.body.trigger.signature.secret).toEqual({ set: true });
    for (const secret of [sharedKey, signatureSecret, llmKey]) expect(JSON.stringify(shown.body)).not.toContain(secret);

    const scanDatabaseFiles = () => {
      const files = readdirSync(test.dataDir).filter((name) => name.startsWith('hookflow.db'));
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) {
        const bytes = readFileSync(join(test.dataDir, file));
        for (const secret of [sharedKey, signatureSecret, llmKey]) expect(bytes.includes(Buffer.from(secret)), `${secret} in ${file}`).toBe(false);
      }
    };
    scanDatabaseFiles(); // while running: the main file and the WAL
    await test.app.stop();
    scanDatabaseFiles(); // after the final checkpoint
    const logs = test.logs();
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of [sharedKey, signatureSecret, llmKey]) expect(logs).not.toContain(secret);
  });
});
