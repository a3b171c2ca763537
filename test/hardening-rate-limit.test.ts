import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp, type TestApp } from './helpers/app.js';

/**
 * Trigger and per-IP rate limits, with time from the injected clock: refills are exact and
 * nothing sleeps.
 */
const T0 = Date.UTC(2025, 3, 1, 8, 0, 0);
let nowMs = T0;
let test: TestApp;
let ws: string;
let counter = 0;
const KEY = 'rate-limit-shared-key-3f9e1a';
const TOO_MANY = { error: 'Too many requests' };

beforeAll(async () => {
  test = await startTestApp({ clock: () => nowMs });
  ws = (await createWorkflow(test, { id: 'seed', name: 'seed', trigger: { type: 'webhook' } })).workspaceId;
});
afterAll(() => test.stop());
beforeEach(() => {
  nowMs = T0;
});

async function limitedWorkflow(trigger: Record<string, unknown> = {}): Promise<string> {
  const id = `limited-${++counter}`;
  const created = await test.api('POST', `/api/workspaces/${ws}/workflows`, { id, name: id, trigger: { type: 'webhook', sharedKey: KEY, rateLimit: { perMinute: 5 }, ...trigger } });
  expect(created.status).toBe(201);
  return id;
}

async function post(base: string, path: string, headers: Record<string, string> = { 'x-webhook-key': KEY }, body = '{"n":1}') {
  const response = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : JSON.parse(text), retryAfter: response.headers.get('retry-after') };
}

function expectSaneRetryAfter(value: string | null): number {
  expect(value).toMatch(/^\d+$/);
  const seconds = Number(value);
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(seconds).toBeLessThanOrEqual(60);
  return seconds;
}

describe('trigger.rateLimit.perMinute = 5', () => {
  it('exactly 5 of a concurrent burst pass, the 6th is 429 with a sane Retry-After; +12 s buys exactly one more', async () => {
    const wf = await limitedWorkflow();
    const path = `/api/webhook/${ws}/${wf}`;
    const burst = await Promise.all(Array.from({ length: 5 }, () => post(test.url, path)));
    expect(burst.map((answer) => answer.status)).toStrictEqual([200, 200, 200, 200, 200]);
    expect(new Set(burst.map((answer) => answer.body.run_id)).size).toBe(5);

    const sixth = await post(test.url, path);
    expect(sixth.status).toBe(429);
    expect(sixth.body).toStrictEqual(TOO_MANY);
    // One token every 60/5 = 12 s, so the honest answer is 12.
    expect(expectSaneRetryAfter(sixth.retryAfter)).toBe(12);

    nowMs = T0 + 12_000;
    expect((await post(test.url, path)).status).toBe(200);
    const next = await post(test.url, path);
    expect(next.status).toBe(429);
    expect(next.body).toStrictEqual(TOO_MANY);
    expectSaneRetryAfter(next.retryAfter);
  });

  it('a full minute refills to exactly 5, never more', async () => {
    const wf = await limitedWorkflow();
    const path = `/api/webhook/${ws}/${wf}`;
    nowMs = T0 + 10 * 60_000; // idle for ten minutes: the bucket is capped at 5
    const statuses = [];
    for (let i = 0; i < 7; i++) statuses.push((await post(test.url, path)).status);
    expect(statuses).toStrictEqual([200, 200, 200, 200, 200, 429, 429]);
  });

  it('wrong-key calls do not use up the quota', async () => {
    const wf = await limitedWorkflow();
    const path = `/api/webhook/${ws}/${wf}`;
    const wrong = await Promise.all(Array.from({ length: 40 }, () => post(test.url, path, { 'x-webhook-key': 'wrong-key-wrong-key' })));
    expect(new Set(wrong.map((answer) => answer.status))).toStrictEqual(new Set([401]));
    const good = [];
    for (let i = 0; i < 5; i++) good.push((await post(test.url, path)).status);
    expect(good).toStrictEqual([200, 200, 200, 200, 200]);
    expect((await post(test.url, path)).status).toBe(429);
  });

  it('each workflow has its own bucket', async () => {
    const a = await limitedWorkflow();
    const b = await limitedWorkflow();
    for (let i = 0; i < 5; i++) await post(test.url, `/api/webhook/${ws}/${a}`);
    expect((await post(test.url, `/api/webhook/${ws}/${a}`)).status).toBe(429);
    expect((await post(test.url, `/api/webhook/${ws}/${b}`)).status).toBe(200);
  });

  // A signature-only trigger authenticates a call only once its body is read and checked, so
  // the quota is taken only then: no unauthenticated call, however it fails, uses it up.
  it('forged or unsigned calls, whatever they fail on, do not use up the quota of a signature-only trigger', async () => {
    const secret = 'rate-limit-gh-secret-0d4c';
    const wf = await limitedWorkflow({ sharedKey: undefined, signature: { scheme: 'github', secret }, maxBodyBytes: 100 });
    const path = `/api/webhook/${ws}/${wf}`;
    const sign = (s: string) => ({ 'x-hub-signature-256': `sha256=${createHmac('sha256', s).update('{"n":1}').digest('hex')}` });
    const refused = [];
    for (let i = 0; i < 6; i++) {
      refused.push((await post(test.url, path, sign('forged-secret'))).status);
      refused.push((await post(test.url, path, { 'content-encoding': 'compress' })).status);
      refused.push((await post(test.url, path, {}, JSON.stringify({ pad: 'x'.repeat(200) }))).status);
    }
    expect(refused).toStrictEqual(Array(6).fill([401, 415, 413]).flat());
    // The genuine sender still has its whole quota: exactly 5, then 429.
    const genuine = [];
    for (let i = 0; i < 6; i++) genuine.push((await post(test.url, path, sign(secret))).status);
    expect(genuine).toStrictEqual([200, 200, 200, 200, 200, 429]);
    // Once it is spent, even unsigned calls are refused before their body is read.
    expect((await post(test.url, path, {})).status).toBe(429);
  });
});

describe('HOOKFLOW_RATE_LIMIT_PER_IP_PER_MINUTE = 3', () => {
  let perIp: TestApp;
  let ipNow = T0;
  let wsIp: string;

  beforeAll(async () => {
    perIp = await startTestApp({ clock: () => ipNow, env: { HOOKFLOW_RATE_LIMIT_PER_IP_PER_MINUTE: '3' } });
    wsIp = (await createWorkflow(perIp, { id: 'a', name: 'a', trigger: { type: 'webhook', sharedKey: KEY } })).workspaceId;
    const second = await perIp.api('POST', `/api/workspaces/${wsIp}/workflows`, { id: 'b', name: 'b', trigger: { type: 'webhook', sharedKey: KEY } });
    expect(second.status).toBe(201);
  });
  afterAll(() => perIp.stop());

  it('counts every webhook call from one IP over all workflows (unknown ones too), then 429 with Retry-After', async () => {
    expect((await post(perIp.url, `/api/webhook/${wsIp}/a`)).status).toBe(200);
    expect((await post(perIp.url, `/api/webhook/${wsIp}/b`)).status).toBe(200);
    expect((await post(perIp.url, `/api/webhook/${wsIp}/nope`)).status).toBe(404);
    const fourth = await post(perIp.url, `/api/webhook/${wsIp}/a`);
    expect(fourth.status).toBe(429);
    expect(fourth.body).toStrictEqual(TOO_MANY);
    expect(expectSaneRetryAfter(fourth.retryAfter)).toBe(20);
    // Unknown webhooks are refused by the IP limit before the lookup, with the same 429.
    expect((await post(perIp.url, `/api/webhook/${wsIp}/nope`)).status).toBe(429);

    // The management API and health checks are not webhook calls.
    expect((await perIp.api('GET', `/api/workspaces/${wsIp}/workflows`)).status).toBe(200);
    expect((await fetch(`${perIp.url}/healthz`)).status).toBe(200);

    ipNow = T0 + 20_000;
    expect((await post(perIp.url, `/api/webhook/${wsIp}/b`)).status).toBe(200);
    expect((await post(perIp.url, `/api/webhook/${wsIp}/b`)).status).toBe(429);
  });
});
