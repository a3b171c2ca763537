import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { createChannel, createRule, verifiedNotification } from './helpers/alerts.js';
import { startLoopbackServer } from './helpers/loopback.js';
import { rotateMasterKey } from '../src/app/rotate-master-key.js';
import { loadServerConfig } from '../src/config/server-config.js';
import { createLogger } from '../src/telemetry/logger.js';

/**
 * Alert channels: the SSRF guard on their URLs (as data), the signing secret shown once and
 * nowhere else, the signed test send, delivery retries with backoff and their failures in the
 * history, and who may read or change alerts.
 */
let now = Date.now();
let receiver: Awaited<ReturnType<typeof startLoopbackServer>>;
/** Statuses the receiver answers, in order; 200 once they run out. */
let answers: number[] = [];
let app: TestApp;
const workspaceId = 'alerting';

beforeAll(async () => {
  receiver = await startLoopbackServer((_request, response) => {
    response.statusCode = answers.shift() ?? 200;
    response.end();
  });
  app = await startTestApp({
    clock: () => now,
    env: {
      HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8', HOOKFLOW_ALERTS_INTERVAL_MS: '3600000',
      HOOKFLOW_ALERTS_DELIVERY_ATTEMPTS: '3', HOOKFLOW_ALERTS_RETRY_BASE_MS: '10000', HOOKFLOW_ALERTS_RETRY_MAX_MS: '20000',
    },
  });
  expect((await app.api('POST', '/api/workspaces', { id: workspaceId, name: 'alerting' })).status).toBe(201);
});
afterAll(async () => {
  await app.stop();
  await receiver.close();
});

/** A rule that fires at once: queue lag over 1 s on a workspace whose run nobody takes. */
async function firingRule(channelId: string): Promise<string> {
  const rule = await createRule(app, workspaceId, { kind: 'queue_lag', params: { thresholdSeconds: 1 }, channelIds: [channelId] });
  const workflow = await app.api('POST', `/api/workspaces/${workspaceId}/workflows`, { name: `lag ${rule}`, trigger: { type: 'webhook' } });
  expect((await fetch(workflow.body.webhookUrl, { method: 'POST', body: '{}' })).status).toBe(200);
  now += 5_000;
  return rule;
}

describe('channel URLs and the egress guard', () => {
  it('refuses private, link-local and (without the allowlist) loopback addresses when saved, sending nothing', async () => {
    for (const url of ['http://10.1.2.3/hook', 'http://169.254.169.254/latest/meta-data', 'https://[fd00::1]/x', 'http://0x0a000001/', 'ftp://example.com/', 'https://user:pw@example.com/']) {
      const answer = await app.api('POST', `/api/workspaces/${workspaceId}/alert-channels`, { name: 'bad', url });
      expect(answer.status, url).toBe(400);
      expect(answer.body.error).toBe('Invalid request');
    }
    const metadata = await app.api('POST', `/api/workspaces/${workspaceId}/alert-channels`, { name: 'bad', url: 'http://169.254.169.254/' });
    expect(metadata.body.details[0]).toContain('169.254.0.0/16');
    // hookflow's own API stays out of reach even where the allowlist opens loopback.
    const itself = await app.api('POST', `/api/workspaces/${workspaceId}/alert-channels`, { name: 'self', url: `${app.url}/api/workspaces` });
    expect([itself.status, itself.body.details[0]]).toEqual([400, expect.stringContaining("hookflow's own listen address")]);

    const strict = await startTestApp({ env: { HOOKFLOW_ALERTS_INTERVAL_MS: '3600000' } });
    try {
      await strict.api('POST', '/api/workspaces', { id: 'strict', name: 'strict' });
      const before = receiver.received.length;
      const loopback = await strict.api('POST', '/api/workspaces/strict/alert-channels', { name: 'local', url: `${receiver.url}/x` });
      expect(loopback.status).toBe(400);
      expect(loopback.body.details[0]).toContain('loopback');
      expect(receiver.received.length).toBe(before);
    } finally {
      await strict.stop();
    }
  });
});

describe('the signing secret', () => {
  it('is shown once at creation, then never in answers, history, logs or the database file', async () => {
    const channel = await createChannel(app, workspaceId, `${receiver.url}/secret-check`);
    const rule = await firingRule(channel.id);
    const before = receiver.received.length;
    expect((await app.app.alerts.pass()).changes).toBeGreaterThanOrEqual(1);
    const mine = receiver.received.slice(before).filter((r) => r.url === '/secret-check');
    expect(mine.length).toBe(1);
    expect(verifiedNotification(mine[0] as never, channel.secret).metadata.event_payload['rule_id']).toBe(rule);

    const answers = await Promise.all([
      app.api('GET', `/api/workspaces/${workspaceId}/alert-channels`),
      app.api('GET', `/api/workspaces/${workspaceId}/alert-channels/${channel.id}`),
      app.api('GET', `/api/workspaces/${workspaceId}/alerts`),
      app.api('GET', `/api/workspaces/${workspaceId}/alerts/history`),
      app.api('POST', `/api/workspaces/${workspaceId}/alert-channels/${channel.id}/test`),
      app.api('GET', '/api/audit'),
    ]);
    const key = channel.secret.slice('whsec_'.length);
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(JSON.stringify(answer.body)).not.toContain(key);
    }
    expect(answers[1]?.body).toEqual({ id: channel.id, name: 'ops', url: `${receiver.url}/secret-check`, createdAt: expect.any(String) });
    expect(app.logs()).not.toContain(key);
    // Encrypted at rest: the plaintext is in no file of the data dir (database, WAL).
    const bytes = Buffer.concat(readdirSync(app.dataDir).filter((name) => name.startsWith('hookflow.db')).map((name) => readFileSync(join(app.dataDir, name))));
    expect(bytes.includes(Buffer.from(key))).toBe(false);
    expect(bytes.includes(Buffer.from(`${receiver.url}/secret-check`))).toBe(true);
  });
});

describe('test send', () => {
  it('posts a signed test notification and says how it went', async () => {
    const channel = await createChannel(app, workspaceId, `${receiver.url}/test-send`);
    const sent = await app.api('POST', `/api/workspaces/${workspaceId}/alert-channels/${channel.id}/test`);
    expect(sent.body).toMatchObject({ delivered: true, status: 200, error: null });
    const request = receiver.received.filter((r) => r.url === '/test-send').at(-1);
    const body = verifiedNotification(request as never, channel.secret);
    expect(request?.headers['webhook-id']).toBe(sent.body.id);
    expect(body.text).toContain('TEST');
    expect(body.metadata.event_payload['status']).toBe('test');

    answers = [503];
    const failed = await app.api('POST', `/api/workspaces/${workspaceId}/alert-channels/${channel.id}/test`);
    expect(failed.body).toMatchObject({ delivered: false, status: 503, error: 'answered HTTP 503' });
    expect((await app.api('POST', `/api/workspaces/${workspaceId}/alert-channels/nope/test`)).status).toBe(404);
  });
});

describe('delivery retries', () => {
  it('retries with backoff under the same webhook-id, and records attempts and errors in the history', async () => {
    const channel = await createChannel(app, workspaceId, `${receiver.url}/flaky`);
    answers = [500, 502];
    const rule = await firingRule(channel.id);
    await app.app.alerts.pass();
    const delivery = async () => {
      const history = await app.api('GET', `/api/workspaces/${workspaceId}/alerts/history?ruleId=${rule}`);
      return history.body.items[0].deliveries[0];
    };
    expect(await delivery()).toMatchObject({ status: 'pending', attempts: 1, lastStatus: 500, lastError: 'answered HTTP 500' });
    await app.app.alerts.pass();
    expect((await delivery()).attempts).toBe(1); // not due yet: the backoff holds it
    now += 20_000;
    await app.app.alerts.pass();
    expect(await delivery()).toMatchObject({ status: 'pending', attempts: 2, lastStatus: 502 });
    now += 20_000;
    await app.app.alerts.pass();
    expect(await delivery()).toMatchObject({ status: 'delivered', attempts: 3, lastStatus: 200, lastError: null });
    const attempts = receiver.received.filter((r) => r.url === '/flaky');
    expect(attempts.map((r) => r.headers['webhook-id'])).toEqual(Array(3).fill((await delivery()).id));
    for (const attempt of attempts) verifiedNotification(attempt, channel.secret);
  });

  it('gives up after the last attempt and shows the failure', async () => {
    const channel = await createChannel(app, workspaceId, `${receiver.url}/down`);
    answers = [500, 500, 500];
    const rule = await firingRule(channel.id);
    for (let i = 0; i < 4; i++) {
      await app.app.alerts.pass();
      now += 20_000;
    }
    const history = await app.api('GET', `/api/workspaces/${workspaceId}/alerts/history?ruleId=${rule}`);
    expect(history.body.items[0].deliveries[0]).toMatchObject({ status: 'failed', attempts: 3, lastStatus: 500, lastError: 'answered HTTP 500', nextAttemptAt: null });
    expect(receiver.received.filter((r) => r.url === '/down').length).toBe(3);
  });
});

describe('rules API', () => {
  it('validates kinds, params, workflows and channels; a channel in use cannot be deleted', async () => {
    const bad = [
      { name: 'x', kind: 'nonsense' },
      { name: 'x', kind: 'run_failure_rate', params: { threshold: 2 } },
      { name: 'x', kind: 'silence' },
      { name: 'x', kind: 'dead_letters', workflowId: 'missing' },
      { name: 'x', kind: 'dead_letters', channelIds: ['alc_nope'] },
    ];
    for (const body of bad) expect((await app.api('POST', `/api/workspaces/${workspaceId}/alert-rules`, body)).status, JSON.stringify(body)).toBe(400);
    const channel = await createChannel(app, workspaceId, `${receiver.url}/rules`);
    const rule = await createRule(app, workspaceId, { kind: 'dead_letters', channelIds: [channel.id] });
    expect((await app.api('GET', `/api/workspaces/${workspaceId}/alert-rules/${rule}`)).body).toMatchObject({ kind: 'dead_letters', params: { windowMinutes: 10, threshold: 1 }, enabled: true });
    const patched = await app.api('PATCH', `/api/workspaces/${workspaceId}/alert-rules/${rule}`, { params: { threshold: 5 }, enabled: false });
    expect(patched.body).toMatchObject({ params: { windowMinutes: 10, threshold: 5 }, enabled: false });
    expect((await app.api('DELETE', `/api/workspaces/${workspaceId}/alert-channels/${channel.id}`)).status).toBe(409);
    expect((await app.api('DELETE', `/api/workspaces/${workspaceId}/alert-rules/${rule}`)).status).toBe(204);
    expect((await app.api('DELETE', `/api/workspaces/${workspaceId}/alert-channels/${channel.id}`)).status).toBe(204);
    expect((await app.api('GET', `/api/workspaces/${workspaceId}/alert-rules/${rule}`)).status).toBe(404);
    expect((await app.api('GET', '/api/workspaces/nowhere/alerts')).status).toBe(404);
  });

  it('a workspace has at most HOOKFLOW_ALERTS_MAX_RULES rules and HOOKFLOW_ALERTS_MAX_CHANNELS channels', async () => {
    const small = await startTestApp({ env: { HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8', HOOKFLOW_ALERTS_INTERVAL_MS: '3600000', HOOKFLOW_ALERTS_MAX_RULES: '2', HOOKFLOW_ALERTS_MAX_CHANNELS: '1' } });
    try {
      await small.api('POST', '/api/workspaces', { id: 'small', name: 'small' });
      await createChannel(small, 'small', `${receiver.url}/one`);
      const second = await small.api('POST', '/api/workspaces/small/alert-channels', { name: 'two', url: `${receiver.url}/two` });
      expect([second.status, second.body.details]).toEqual([400, ['a workspace has at most 1 alert channels (HOOKFLOW_ALERTS_MAX_CHANNELS)']]);
      await createRule(small, 'small', { kind: 'dead_letters' });
      await createRule(small, 'small', { kind: 'queue_lag' });
      const third = await small.api('POST', '/api/workspaces/small/alert-rules', { name: 'three', kind: 'dead_letters' });
      expect([third.status, third.body.details]).toEqual([400, ['a workspace has at most 2 alert rules (HOOKFLOW_ALERTS_MAX_RULES)']]);
    } finally {
      await small.stop();
    }
  });

  it('viewers read alerts, editors change them', async () => {
    const token = async (role: string) => (await app.api('POST', '/api/tokens', { name: role, role })).body.token as string;
    const as = (bearer: string, method: string, path: string, body?: unknown) =>
      fetch(`${app.url}${path}`, { method, headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }).then((r) => r.status);
    const viewer = await token('viewer');
    const editor = await token('editor');
    for (const path of ['alert-rules', 'alert-channels', 'alerts', 'alerts/history']) expect(await as(viewer, 'GET', `/api/workspaces/${workspaceId}/${path}`)).toBe(200);
    expect(await as(viewer, 'POST', `/api/workspaces/${workspaceId}/alert-rules`, { name: 'v', kind: 'dead_letters' })).toBe(403);
    expect(await as(viewer, 'POST', `/api/workspaces/${workspaceId}/alert-channels`, { name: 'v', url: `${receiver.url}/v` })).toBe(403);
    expect(await as(editor, 'POST', `/api/workspaces/${workspaceId}/alert-rules`, { name: 'e', kind: 'dead_letters' })).toBe(201);
  });
});

describe('master-key rotation', () => {
  it('re-encrypts channel secrets: after it, a server with only the new key still signs with the same secret', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hookflow-alert-rotation-'));
    const [oldKey, newKey] = [randomBytes(32).toString('base64'), randomBytes(32).toString('base64')];
    const env = { HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8', HOOKFLOW_ALERTS_INTERVAL_MS: '3600000' };
    try {
      const first = await startTestApp({ dataDir, keepDataDir: true, env: { ...env, HOOKFLOW_MASTER_KEY: oldKey } });
      await first.api('POST', '/api/workspaces', { id: 'rot', name: 'rot' });
      const channel = await createChannel(first, 'rot', `${receiver.url}/rotated`);
      await first.stop();

      const config = loadServerConfig({ HOOKFLOW_DATA_DIR: dataDir, HOOKFLOW_MASTER_KEY: oldKey });
      const rotated = await rotateMasterKey({ config, newKeyBase64: newKey, logger: createLogger({ level: 'silent' }) });
      expect(rotated.count).toBe(1);

      const second = await startTestApp({ dataDir, keepDataDir: true, env: { ...env, HOOKFLOW_MASTER_KEY: newKey } });
      try {
        const sent = await second.api('POST', `/api/workspaces/rot/alert-channels/${channel.id}/test`);
        expect(sent.body).toMatchObject({ delivered: true, status: 200 });
        verifiedNotification(receiver.received.filter((r) => r.url === '/rotated').at(-1) as never, channel.secret);
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
