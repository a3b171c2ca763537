import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp, type TestApp } from './helpers/app.js';
import { eventually } from './helpers/loopback.js';

const KEY = 'logs-shared-key-0123456789';

type LogLine = Record<string, unknown> & { level: number; msg: string };
const lines = (app: TestApp): LogLine[] =>
  app.logs().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as LogLine);

async function post(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"order":7}' });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('logs', () => {
  let app: TestApp;
  let ws: string;
  let hook: string;

  beforeAll(async () => {
    app = await startTestApp({ env: { LOG_LEVEL: 'info', HOOKFLOW_WORKER_CONCURRENCY: '1', HOOKFLOW_LOG_ACCEPTED_WEBHOOKS: 'true' } });
    const created = await createWorkflow(app, {
      id: 'orders', name: 'orders', maxAttempts: 1, trigger: { type: 'webhook', sharedKey: KEY },
      steps: [{ id: 'boom', type: 'script', code: 'throw new Error("order 7 has no customer");' }],
    });
    ws = created.workspaceId;
    hook = `${app.url}/api/webhook/${ws}/orders`;
  });
  afterAll(async () => app.stop());

  it('writes one line per webhook with workflow, outcome, status, duration and run id (HOOKFLOW_LOG_ACCEPTED_WEBHOOKS=true)', async () => {
    const accepted = await post(hook, { 'x-webhook-key': KEY });
    const refused = await post(hook, { 'x-webhook-key': 'wrong-key-0000000000' });
    const missing = await post(`${app.url}/api/webhook/${ws}/no-such-flow`);
    expect([accepted.status, refused.status, missing.status]).toStrictEqual([200, 401, 404]);

    const webhookLines = await eventually(async () => {
      const found = lines(app).filter((line) => line.msg === 'webhook');
      return found.length >= 3 ? found : undefined;
    });
    expect(webhookLines).toHaveLength(3);
    const [first, second, third] = webhookLines as [LogLine, LogLine, LogLine];
    expect(first).toMatchObject({ level: 30, workspace: ws, workflow: 'orders', outcome: 'accepted', status: 200, runId: accepted.body['run_id'] });
    expect(second).toMatchObject({ level: 30, workspace: ws, workflow: 'orders', outcome: 'invalid_key', status: 401, runId: null });
    expect(third).toMatchObject({ level: 30, workspace: ws, workflow: '(unknown)', outcome: 'not_found', status: 404, runId: null });
    for (const line of webhookLines) expect(typeof line['ms']).toBe('number');
    // No second (access) line for the same calls.
    expect(lines(app).filter((line) => line.msg === 'request' && String(line['url']).startsWith('/api/webhook'))).toStrictEqual([]);
  });

  it('logs an expected run failure as a warning with its code and message, without a stack', async () => {
    const failed = await eventually(async () => lines(app).find((line) => line.msg === 'run failed'));
    expect(failed).toMatchObject({ level: 40, workspace: ws, workflow: 'orders', code: 'HOOKFLOW_ERR_SANDBOX', attempt: 1 });
    expect(String(failed['error'])).toContain('order 7 has no customer');
    expect(JSON.stringify(failed)).not.toMatch(/stack|\.ts:\d+|\.js:\d+/);
  });

  it('never writes a key sent under any query parameter name into the log', async () => {
    const names = ['key', 'apikey', 'api_key', 'apiKey', 'token', 'access_token', 'auth', 'secret', 'password', 'sig', 'signature', 'k', 'x', 'webhook_key', 'hook', 'credential', 'pass', 'Key', 'KEY', 'sharedKey'];
    const sent = names.map((name, i) => ({ name, value: `leak-${i}-${'z'.repeat(12)}` }));
    for (const { name, value } of sent) {
      await post(`${hook}?${encodeURIComponent(name)}=${value}`);
      await post(`${app.url}/api/webhook/${ws}/nope?${encodeURIComponent(name)}=${value}`);
    }
    await eventually(async () => (lines(app).filter((line) => line.msg === 'webhook').length >= 3 + 2 * names.length ? true : undefined));
    const text = app.logs();
    expect(sent.filter(({ value }) => text.includes(value))).toStrictEqual([]);
  });
});

describe('accepted calls by default', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { LOG_LEVEL: 'debug' } });
  });
  afterAll(async () => app.stop());

  it('are logged at debug, refused ones at info', async () => {
    const { webhookUrl, workspaceId } = await createWorkflow(app, { id: 'quiet', name: 'quiet', trigger: { type: 'webhook', sharedKey: KEY } });
    expect((await post(webhookUrl)).status).toBe(200);
    expect((await post(`${app.url}/api/webhook/${workspaceId}/quiet`)).status).toBe(401);
    const found = await eventually(async () => {
      const webhookLines = lines(app).filter((line) => line.msg === 'webhook');
      return webhookLines.length >= 2 ? webhookLines : undefined;
    });
    expect(found.map((line) => [line.level, line['outcome']])).toStrictEqual([[20, 'accepted'], [30, 'missing_key']]);
  });
});
