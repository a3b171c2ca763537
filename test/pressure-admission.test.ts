import { request as httpRequest } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp, type TestApp } from './helpers/app.js';
import { eventually } from './helpers/loopback.js';

const MiB = 1024 * 1024;
const apps: TestApp[] = [];
afterAll(async () => {
  for (const app of apps) await app.stop();
});

async function start(env: Record<string, string> = {}) {
  const app = await startTestApp({ env });
  apps.push(app);
  return app;
}

async function metric(test: TestApp, name: string): Promise<number> {
  const text = await (await fetch(`${test.url}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(name));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

/** A JSON body of exactly `bytes` bytes. */
function jsonBody(bytes: number, tag: string): Buffer {
  const prefix = `{"tag":"${tag}","pad":"`;
  return Buffer.from(`${prefix}${'x'.repeat(bytes - prefix.length - 2)}"}`);
}

/** Starts a POST whose body is sent only in part; `finish` sends the rest and resolves with the answer. */
function startSlowUpload(url: string, body: Buffer): { abandon: () => void; finish: () => Promise<{ status: number; body: string }> } {
  const request = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(body.length) } });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    request.on('error', reject);
  });
  request.write(body.subarray(0, 1024));
  return {
    abandon: () => {
      answer.catch(() => {}); // the hang-up is the point
      request.destroy();
    },
    finish: () => {
      request.end(body.subarray(1024));
      return answer;
    },
  };
}

describe('memory budget on the webhook route', () => {
  it('answers 503 with Retry-After while bodies in flight fill the budget, and takes the call once they are done', async () => {
    // 16 MiB budget: a webhook body is charged 4× its size while received and stored.
    const test = await start({ HOOKFLOW_MEMORY_BUDGET_BYTES: String(16 * MiB), HOOKFLOW_MAX_BODY_BYTES: String(4 * MiB), HOOKFLOW_RETRY_AFTER_SECONDS: '3' });
    const { workspaceId, webhookUrl } = await createWorkflow(test, { name: 'budget', trigger: { type: 'webhook', bodyMemory: 'body' } });

    // A 3 MiB upload still arriving holds 12 MiB of the 16.
    const slow = startSlowUpload(webhookUrl, jsonBody(3 * MiB, 'slow'));
    await eventually(async () => ((await metric(test, 'hookflow_memory_budget_used_bytes')) >= 12 * MiB ? true : undefined));

    const second = jsonBody(2 * MiB, 'second');
    const refused = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: second });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('3');
    expect(await refused.json()).toEqual({ error: 'Service unavailable' });
    expect(await metric(test, 'hookflow_webhooks_shed_total{reason="memory_budget"}')).toBeGreaterThanOrEqual(1);

    // The call already being received is not harmed: it completes and has its run.
    const first = await slow.finish();
    expect(first.status).toBe(200);
    const firstRun = (JSON.parse(first.body) as { run_id: string }).run_id;
    expect((await test.api('GET', `/api/workspaces/${workspaceId}/runs/${firstRun}`)).status).toBe(200);

    // Its share is given back once answered, and the refused sender's retry is taken.
    await eventually(async () => ((await metric(test, 'hookflow_memory_budget_used_bytes')) === 0 ? true : undefined));
    const retried = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: second });
    expect(retried.status).toBe(200);
    const run = await test.api('GET', `/api/workspaces/${workspaceId}/runs/${((await retried.json()) as { run_id: string }).run_id}`);
    expect(run.body.memory.body.tag).toBe('second');
  });

  it('a call refused 503 because the budget is full uses up none of its trigger\'s rate quota', async () => {
    const test = await start({ HOOKFLOW_MEMORY_BUDGET_BYTES: String(16 * MiB), HOOKFLOW_MAX_BODY_BYTES: String(4 * MiB) });
    const filler = await createWorkflow(test, { name: 'filler', trigger: { type: 'webhook' } });
    const limited = await createWorkflow(test, { name: 'limited', trigger: { type: 'webhook', rateLimit: { perMinute: 1 } } });
    const slow = startSlowUpload(filler.webhookUrl, jsonBody(3 * MiB, 'slow'));
    await eventually(async () => ((await metric(test, 'hookflow_memory_budget_used_bytes')) >= 12 * MiB ? true : undefined));
    const body = jsonBody(2 * MiB, 'limited');
    expect((await fetch(limited.webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status).toBe(503);
    expect((await slow.finish()).status).toBe(200);
    await eventually(async () => ((await metric(test, 'hookflow_memory_budget_used_bytes')) === 0 ? true : undefined));
    // The one call a minute this trigger takes is still there for the sender's retry.
    expect((await fetch(limited.webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status).toBe(200);
  });

  it('gives back the share of a body whose sender went away', async () => {
    const test = await start({ HOOKFLOW_MEMORY_BUDGET_BYTES: String(16 * MiB), HOOKFLOW_MAX_BODY_BYTES: String(4 * MiB) });
    const { webhookUrl } = await createWorkflow(test, { name: 'abandoned', trigger: { type: 'webhook' } });
    const slow = startSlowUpload(webhookUrl, jsonBody(3 * MiB, 'gone'));
    await eventually(async () => ((await metric(test, 'hookflow_memory_budget_used_bytes')) >= 12 * MiB ? true : undefined));
    slow.abandon();
    await eventually(async () => ((await metric(test, 'hookflow_memory_budget_used_bytes')) === 0 ? true : undefined));
    const accepted = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: jsonBody(3 * MiB, 'after') });
    expect(accepted.status).toBe(200);
  });

  it('cuts a trigger limit the budget cannot hold to what it can: 413, not an endless 503', async () => {
    const test = await start({ HOOKFLOW_MEMORY_BUDGET_BYTES: String(16 * MiB), HOOKFLOW_MAX_BODY_BYTES: String(MiB) });
    const { webhookUrl } = await createWorkflow(test, { name: 'too big', trigger: { type: 'webhook', maxBodyBytes: 8 * MiB } });
    const refused = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: jsonBody(5 * MiB, 'big') });
    expect(refused.status).toBe(413);
    const fits = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: jsonBody(3 * MiB, 'fits') });
    expect(fits.status).toBe(200);
  });

  it('refuses at start a default body limit the budget could never admit', async () => {
    await expect(startTestApp({ env: { HOOKFLOW_MEMORY_BUDGET_BYTES: String(16 * MiB), HOOKFLOW_MAX_BODY_BYTES: String(5 * MiB) } })).rejects.toThrow(/HOOKFLOW_MAX_BODY_BYTES/);
  });
});

describe('load shedding', () => {
  it('answers new webhooks 503 at once while the event loop lags, never the probes, and takes them again after', async () => {
    const test = await start({ HOOKFLOW_SHED_EVENT_LOOP_DELAY_MS: '20' });
    const { webhookUrl } = await createWorkflow(test, { name: 'shed', trigger: { type: 'webhook' } });
    // Saturate this process's event loop: 60 ms of work every few ms.
    const hog = setInterval(() => {
      const until = performance.now() + 60;
      while (performance.now() < until);
    }, 5);
    try {
      const shed = await eventually(async () => {
        const response = await fetch(webhookUrl, { method: 'POST', body: '{}' });
        return response.status === 503 ? response : undefined;
      });
      expect(shed.headers.get('retry-after')).not.toBeNull();
      expect(await shed.json()).toEqual({ error: 'Service unavailable' });
      const health = await fetch(`${test.url}/healthz`);
      expect(health.status).toBe(200);
      expect((await fetch(`${test.url}/readyz`)).status).toBe(200);
    } finally {
      clearInterval(hog);
    }
    expect(await metric(test, 'hookflow_webhooks_shed_total{reason="event_loop_delay"}')).toBeGreaterThanOrEqual(1);
    await eventually(async () => ((await fetch(webhookUrl, { method: 'POST', body: '{}' })).status === 200 ? true : undefined));
    // Shedding is expected behaviour, not an error an operator must look at.
    expect(test.logs()).not.toMatch(/"level":50[^\n]*Webhook shed/);
  });
});

describe('operations listener', () => {
  it('serves /healthz, /readyz and /metrics on HOOKFLOW_OPS_PORT, and nothing else', async () => {
    const test = await start({ HOOKFLOW_OPS_PORT: '0' });
    const opsUrl = test.app.opsUrl as string;
    expect(opsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(opsUrl).not.toBe(test.url);
    expect(await (await fetch(`${opsUrl}/healthz`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${opsUrl}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${opsUrl}/metrics`)).text()).toContain('hookflow_memory_budget_used_bytes');
    const { webhookUrl } = await createWorkflow(test, { name: 'ops', trigger: { type: 'webhook' } });
    const onOps = webhookUrl.replace(test.url, opsUrl);
    expect((await fetch(onOps, { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await fetch(`${opsUrl}/api/workspaces`)).status).toBe(404);
    // The main port keeps its probes too.
    expect((await fetch(`${test.url}/healthz`)).status).toBe(200);
  });
});
