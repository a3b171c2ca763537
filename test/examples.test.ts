import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TEST_ADMIN_TOKEN, type TestApp } from './helpers/app.js';
import { CLI } from './helpers/cli.js';
import { eventually, startLoopbackServer, type Received } from './helpers/loopback.js';

/*
 * The four integrations in examples/, driven end to end: `hookflow apply -f examples/` on a
 * fresh server, `hookflow send` with each sample payload, the workflow run by the server's
 * workers against loopback fakes of the external APIs (a chat webhook, a shipping API, an
 * OpenAI-compatible LLM, a pager/ticket API, a CRM).
 */

const EXAMPLES = join(import.meta.dirname, '..', 'examples');
const payload = (file: string): string => join(EXAMPLES, file);

const SECRETS = {
  GITHUB_WEBHOOK_SECRET: 'github-example-secret',
  ORDERS_SHARED_KEY: 'orders-example-key',
  ALERTS_SHARED_KEY: 'alerts-example-key',
  CRM_SHARED_KEY: 'crm-example-key-123',
  LLM_API_KEY: 'sk-example-llm-key',
};
/** A workspace secret, set with `hookflow secrets set` (stdin): not an `${env:…}` of the files. */
const SHIPPING_API_TOKEN = 'shipping-token-abc';

describe('examples/', () => {
  let test: TestApp;
  let fake: Awaited<ReturnType<typeof startLoopbackServer>>;
  let env: Record<string, string>;

  const hookflow = (args: string[], stdin = '') =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, [CLI, ...args], { env: { PATH: process.env['PATH'] ?? '', HOOKFLOW_URL: test.url, HOOKFLOW_TOKEN: TEST_ADMIN_TOKEN, ...env }, timeout: 60_000 }, (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr }));
      child.stdin?.end(stdin);
    });

  /** Sends a sample, waits for its run to finish, returns the run and what the fakes received meanwhile. */
  async function deliver(ref: string, file: string, extra: string[] = []): Promise<{ run: any; calls: Received[] }> {
    const before = fake.received.length;
    const sent = await hookflow(['send', ref, '--data', `@${payload(file)}`, '--json', ...extra]);
    expect(sent.stderr).toBe('');
    const answer = JSON.parse(sent.stdout) as { status: number; body: { run_id: string } };
    expect(answer.status).toBe(200);
    const [workspace] = ref.split('/');
    const run = await eventually(async () => {
      const detail = await test.api('GET', `/api/workspaces/${workspace}/runs/${answer.body.run_id}`);
      return detail.body.status === 'succeeded' || detail.body.status === 'failed' ? detail.body : undefined;
    }, 30_000);
    return { run, calls: fake.received.slice(before) };
  }

  beforeAll(async () => {
    fake = await startLoopbackServer((request, response) => {
      response.setHeader('content-type', 'application/json');
      if (request.url === '/llm/chat/completions') {
        const { messages } = JSON.parse(request.body) as { messages: { content: string }[] };
        response.end(JSON.stringify({ choices: [{ message: { content: `Summary: ${messages.at(-1)?.content.slice(0, 40)}` } }], usage: { total_tokens: 21 } }));
        return;
      }
      if (request.url === '/shipping/shipments') {
        response.statusCode = 201;
        response.end(JSON.stringify({ shipmentId: 'shp_1', tracking: 'TRACK123' }));
        return;
      }
      response.end(JSON.stringify({ ok: true }));
    });
    env = {
      ...SECRETS,
      CHAT_WEBHOOK_URL: `${fake.url}/chat`,
      SHIPPING_API_URL: `${fake.url}/shipping`,
      LLM_BASE_URL: `${fake.url}/llm`,
      ESCALATION_API_URL: `${fake.url}/escalation`,
      CRM_SYNC_URL: `${fake.url}/crm`,
    };
    test = await startTestApp({ env: { HOOKFLOW_WORKER_CONCURRENCY: '2', HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8' } });
  });
  afterAll(async () => {
    await test?.stop();
    await fake?.close();
  });

  it('apply creates every example workflow (after the shipping token is set as a workspace secret); a second apply changes nothing', async () => {
    // As examples/README.md says: the workspace, then its secret, then apply.
    expect((await hookflow(['workspaces', 'create', 'examples', '--name', 'Examples'])).code).toBe(0);
    expect((await hookflow(['secrets', 'set', 'examples/SHIPPING_API_TOKEN', '--allowed-origin', fake.url], `${SHIPPING_API_TOKEN}\n`)).code).toBe(0);
    const first = await hookflow(['apply', '-f', EXAMPLES]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    for (const id of ['crm-contacts', 'github-events', 'alerts', 'orders']) expect(first.stdout).toContain(`+ create examples/${id}`);
    expect(first.stdout).toContain('Plan: 4 to create');
    const second = await hookflow(['apply', '-f', EXAMPLES]);
    expect(second.stdout).toContain('No changes.');
  });

  it('GitHub: a signed push and a signed pull request each post their summary to chat', async () => {
    const push = await deliver('examples/github-events', 'github/push.json', ['-H', 'x-github-event: push', '-H', 'x-github-delivery: d-1', '--secret', SECRETS.GITHUB_WEBHOOK_SECRET]);
    expect(push.run.status).toBe('succeeded');
    expect(push.calls.map((call) => `${call.method} ${call.url}`)).toEqual(['POST /chat']);
    expect(JSON.parse(push.calls[0]!.body)).toEqual({ event: 'push', repo: 'octocat/hello-world', branch: 'main', commits: 2, pusher: 'octocat' });
    const pr = await deliver('examples/github-events', 'github/pull_request.json', ['-H', 'x-github-event: pull_request', '-H', 'x-github-delivery: d-2', '--secret', SECRETS.GITHUB_WEBHOOK_SECRET]);
    expect(JSON.parse(pr.calls[0]!.body)).toEqual({ event: 'pull_request', repo: 'octocat/hello-world', action: 'opened', number: 42, title: 'Add webhook retries', author: 'octocat' });
  });

  it('Orders: books the shipment with its token, then asks the LLM for a summary', async () => {
    const { run, calls } = await deliver('examples/orders', 'orders/order.json');
    expect(run.status).toBe('succeeded');
    expect(calls.map((call) => `${call.method} ${call.url}`)).toEqual(['POST /shipping/shipments', 'POST /llm/chat/completions']);
    expect(calls[0]!.headers.authorization).toBe(`Bearer ${SHIPPING_API_TOKEN}`);
    const order = JSON.parse(readFileSync(payload('orders/order.json'), 'utf8'));
    expect(JSON.parse(calls[0]!.body)).toEqual({ orderId: '12345', email: 'customer@example.com', items: order.items });
    expect(calls[1]!.headers.authorization).toBe(`Bearer ${SECRETS.LLM_API_KEY}`);
    expect(JSON.parse(calls[1]!.body).messages[1].content).toContain('TRACK123');
    expect(run.memory.orderSummary).toMatch(/^Summary: Order: /);
    expect(JSON.stringify(run)).not.toContain(SECRETS.LLM_API_KEY);
    expect(JSON.stringify(run)).not.toContain(SHIPPING_API_TOKEN);
    // The token is no part of the stored definition, so an export (or a viewer) never sees it.
    const exported = await hookflow(['export', 'examples']);
    expect(exported.stdout).toContain('Bearer {{secrets.SHIPPING_API_TOKEN}}');
    expect(exported.stdout).not.toContain(SHIPPING_API_TOKEN);
  });

  it('Monitoring: a critical alert pages, a warning opens a ticket', async () => {
    const critical = await deliver('examples/alerts', 'monitoring/alert-critical.json');
    expect(critical.calls.map((call) => `${call.method} ${call.url}`)).toEqual(['POST /escalation/page']);
    expect(JSON.parse(critical.calls[0]!.body)).toEqual({ level: 'page', service: 'payment-api', severity: 'critical', message: '[critical] payment-api: Error rate above 5% for 10 minutes' });
    const warning = await deliver('examples/alerts', 'monitoring/alert-warning.json');
    expect(warning.calls.map((call) => `${call.method} ${call.url}`)).toEqual(['POST /escalation/ticket']);
  });

  it('CRM: the changed fields are synced to the contact by PUT', async () => {
    const { run, calls } = await deliver('examples/crm-contacts', 'crm/contact-update.json');
    expect(run.status).toBe('succeeded');
    expect(calls.map((call) => `${call.method} ${call.url}`)).toEqual(['PUT /crm/contacts/12345']);
    expect(JSON.parse(calls[0]!.body)).toEqual({ externalId: '12345', updatedBy: 'sales_user', email: 'new-email@example.com', status: 'qualified_lead' });
  });
});
