import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TEST_ADMIN_TOKEN, type TestApp } from './helpers/app.js';
import { CLI, exited } from './helpers/cli.js';
import { eventually, startLoopbackServer } from './helpers/loopback.js';
import { waitForRun } from './helpers/runs.js';

/** Runs the built CLI (`npm test` builds first) against the test server; resolves with its exit code and output. */
function hookflow(test: TestApp, args: string[], env: Record<string, string> = {}, stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath, [CLI, ...args],
      { env: { PATH: process.env['PATH'] ?? '', HOOKFLOW_URL: test.url, HOOKFLOW_TOKEN: TEST_ADMIN_TOKEN, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr }),
    );
    child.stdin?.end(stdin);
  });
}

const SECRETS = {
  github: 'gh-webhook-secret',
  stripe: 'whsec_stripe_secret',
  slack: 'slack-signing-secret',
  shopify: 'shopify-app-secret',
  'standard-webhooks': `whsec_${Buffer.from('standard webhooks key').toString('base64')}`,
  'hmac-sha256': 'generic-hmac-secret',
} as const;

describe('hookflow client commands against a real server', () => {
  let test: TestApp;
  let dir: string;

  beforeAll(async () => {
    test = await startTestApp();
    dir = mkdtempSync(join(tmpdir(), 'hookflow-cli-'));
    writeFileSync(join(dir, 'order.json'), JSON.stringify({ event: 'order_completed', order_id: '12345', customer: { email: 'customer@example.com' } }));
    expect((await test.api('POST', '/api/workspaces', { id: 'signed', name: 'Signed' })).status).toBe(201);
    for (const [scheme, secret] of Object.entries(SECRETS)) {
      const signature = scheme === 'hmac-sha256' ? { scheme, secret, header: 'x-acme-signature', encoding: 'base64', prefix: 'sha256=' } : { scheme, secret };
      const created = await test.api('POST', '/api/workspaces/signed/workflows', { id: scheme, name: scheme, trigger: { type: 'webhook', signature }, steps: [] });
      expect(created.status).toBe(201);
    }
    await test.api('POST', '/api/workspaces/signed/workflows', { id: 'keyed', name: 'keyed', trigger: { type: 'webhook', sharedKey: 'keyed-shared-key-1' }, steps: [] });
  });
  afterAll(async () => {
    await test.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(Object.entries(SECRETS))('send signs for %s so the server verifies it (200, a run queued)', async (scheme, secret) => {
    const result = await hookflow(test, ['send', `signed/${scheme}`, '--data', `@${join(dir, 'order.json')}`, '--secret', secret, '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 200, body: { status: 'accepted', workflow_started: true, run_id: expect.any(String) } });
    const wrong = await hookflow(test, ['send', `signed/${scheme}`, '--data', '{}', '--secret', scheme === 'standard-webhooks' ? `whsec_${Buffer.from('nope').toString('base64')}` : 'wrong']);
    expect(wrong.code).toBe(4);
    expect(wrong.stdout).toContain('401');
  });

  it('send adds the shared key (revealed through the API, or given), sends headers and reaches the test endpoint', async () => {
    const revealed = await hookflow(test, ['send', 'signed/keyed', '--data', '{"a":1}', '-H', 'x-request-id: r-42']);
    expect(revealed).toMatchObject({ code: 0 });
    expect(revealed.stdout).toMatch(/^200 .*"workflow_started":true/);
    const given = await hookflow(test, ['send', 'signed/keyed', '--data', '{"a":2}', '--key', 'keyed-shared-key-1', '--test', '--json'], { HOOKFLOW_TOKEN: '' });
    expect(JSON.parse(given.stdout)).toMatchObject({ status: 200, body: { test: true } });
    const events = await test.api('GET', '/api/workspaces/signed/workflows/keyed/events');
    expect(events.body.items.map((e: { headers: Record<string, string> }) => e.headers['x-request-id'])).toContain('r-42');
    // The key travelled as a header and was not stored.
    expect(JSON.stringify(events.body)).not.toContain('keyed-shared-key-1');
  });

  it('ends with the documented exit codes: 401 → 4, 404 → 5, unreachable → 1, usage → 2', async () => {
    expect((await hookflow(test, ['send', 'signed/keyed', '--data', '{}', '--key', 'not-the-key-at-all'])).code).toBe(4);
    const missing = await hookflow(test, ['send', 'signed/nope', '--data', '{}']);
    expect(missing.code).toBe(5);
    expect(missing.stderr).toContain('404');
    expect((await hookflow(test, ['url', 'signed/keyed'], { HOOKFLOW_URL: 'http://127.0.0.1:9' })).code).toBe(1);
    expect((await hookflow(test, ['url', 'not-a-ref'])).code).toBe(2);
    expect((await hookflow(test, ['send', 'signed/github', '--data', '{}'])).stderr).toContain('--secret');
    expect((await hookflow(test, ['url', 'signed/keyed'], { HOOKFLOW_URL: 'ftp://x' })).code).toBe(2);
  });

  it('a 5xx answer ends send with exit 1 and prints the answer', async () => {
    // A loopback stand-in for a server that is up but failing (a 503 under overload).
    const failing = await startLoopbackServer((_request, response) => {
      response.statusCode = 503;
      response.setHeader('content-type', 'application/json');
      response.end('{"error":"Service unavailable"}');
    });
    try {
      const result = await hookflow(test, ['send', 'signed/keyed', '--data', '{}', '--key', 'keyed-shared-key-1'], { HOOKFLOW_URL: failing.url, HOOKFLOW_TOKEN: '' });
      expect(result.code).toBe(1);
      expect(result.stdout).toContain('503');
      expect(failing.received[0]?.headers['x-webhook-key']).toBe('keyed-shared-key-1');
    } finally {
      await failing.close();
    }
  });

  it('bad arguments (missing argument or option, unknown option or command) exit 2; --help exits 0', async () => {
    expect((await hookflow(test, ['url'])).code).toBe(2);
    expect((await hookflow(test, ['url', 'signed/keyed', '--bogus'])).code).toBe(2);
    expect((await hookflow(test, ['send', 'signed/keyed'])).code).toBe(2);
    expect((await hookflow(test, ['no-such-command'])).code).toBe(2);
    expect((await hookflow(test, ['tokens', 'create', '--name', 'x'])).code).toBe(2);
    expect((await hookflow(test, ['url', '--help'])).code).toBe(0);
  });

  it('url, workflows list/get/disable/enable/delete, with --json', async () => {
    const url = await hookflow(test, ['url', 'signed/keyed', '--reveal', '--json']);
    expect(JSON.parse(url.stdout)).toEqual({ webhookUrl: `${test.url}/api/webhook/signed/keyed?key=keyed-shared-key-1`, testWebhookUrl: `${test.url}/api/webhook-test/signed/keyed?key=keyed-shared-key-1` });
    const listed = await hookflow(test, ['workflows', 'list', 'signed', '--json']);
    expect(JSON.parse(listed.stdout).map((w: { id: string }) => w.id).sort()).toEqual([...Object.keys(SECRETS), 'keyed'].sort());
    expect((await hookflow(test, ['workflows', 'disable', 'signed/keyed'])).stdout).toContain('disabled (version 2)');
    expect((await test.api('GET', '/api/workspaces/signed/workflows/keyed')).body.enabled).toBe(false);
    expect((await hookflow(test, ['workflows', 'enable', 'signed/keyed'])).code).toBe(0);
    expect((await hookflow(test, ['workflows', 'get', 'signed/keyed'])).stdout).toContain('enabled: true');
    await test.api('POST', '/api/workspaces/signed/workflows', { id: 'doomed', name: 'doomed', trigger: { type: 'webhook' }, steps: [] });
    expect((await hookflow(test, ['workflows', 'delete', 'signed/doomed'])).code).toBe(0);
    expect((await hookflow(test, ['workflows', 'get', 'signed/doomed'])).code).toBe(5);
  });

  it('runs list/show/replay', async () => {
    const list = await hookflow(test, ['runs', 'list', 'signed/github', '--json']);
    const [run] = JSON.parse(list.stdout) as { id: string; status: string }[];
    expect(run?.status).toBe('queued');
    const shown = await hookflow(test, ['runs', 'show', `signed/${run?.id}`, '--json']);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id: run?.id, workflowId: 'github' });
    const replayed = await hookflow(test, ['runs', 'replay', `signed/${run?.id}`]);
    expect(replayed.stdout).toMatch(/^queued run_/);
  });

  it('runs tail and events tail print what arrives while they run', async () => {
    const env = { PATH: process.env['PATH'] ?? '', HOOKFLOW_URL: test.url, HOOKFLOW_TOKEN: TEST_ADMIN_TOKEN };
    const followers = ['runs', 'events'].map((kind) => {
      const child = spawn(process.execPath, [CLI, kind, 'tail', 'signed/keyed', '--interval', '100', '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      return { child, output: () => output };
    });
    try {
      // Both have printed the backlog (earlier runs and events) before the new delivery.
      await eventually(async () => (followers.every((f) => f.output().includes('"id"')) ? true : undefined), 30_000);
      const sent = await fetch(`${test.url}/api/webhook/signed/keyed`, { method: 'POST', headers: { 'x-webhook-key': 'keyed-shared-key-1', 'content-type': 'application/json' }, body: '{"tail":"me"}' });
      const { run_id: runId } = (await sent.json()) as { run_id: string };
      await eventually(async () => (followers[0]!.output().includes(runId) ? true : undefined), 30_000);
      await eventually(async () => (followers[1]!.output().includes('"tail":"me"') ? true : undefined), 30_000);
    } finally {
      for (const follower of followers) {
        follower.child.kill('SIGTERM');
        await exited(follower.child);
      }
    }
  });

  it('a viewer token reads but its writes exit 4', async () => {
    const token = await hookflow(test, ['tokens', 'create', '--name', 'dash', '--role', 'viewer', '--json']);
    const { token: viewer, id } = JSON.parse(token.stdout) as { token: string; id: string };
    expect((await hookflow(test, ['workflows', 'list', 'signed'], { HOOKFLOW_TOKEN: viewer })).code).toBe(0);
    const refused = await hookflow(test, ['workflows', 'disable', 'signed/keyed'], { HOOKFLOW_TOKEN: viewer });
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('403 Forbidden');
    expect((await hookflow(test, ['tokens', 'revoke', id])).code).toBe(0);
    expect((await hookflow(test, ['workflows', 'list', 'signed'], { HOOKFLOW_TOKEN: viewer })).code).toBe(4);
  });
});

describe('hookflow apply and export', () => {
  let test: TestApp;
  let dir: string;
  const ordersYaml = (name: string) => `
workspace: shop
id: orders
name: ${name}
trigger:
  type: webhook
  sharedKey: \${env:ORDERS_KEY}
  headerMemory: orderHeaders
  bodyMemory: orderData
  signature:
    scheme: shopify
    secret: \${env:SHOPIFY_SECRET}
    requireSharedKey: true
steps:
  - id: email
    type: script
    output: customerEmail
    code: return memory.load("orderData").customer.email;
`;
  const env = { ORDERS_KEY: 'orders-key-from-env', SHOPIFY_SECRET: 'shopify-secret-from-env' };

  beforeAll(async () => {
    test = await startTestApp();
    dir = mkdtempSync(join(tmpdir(), 'hookflow-apply-'));
    writeFileSync(join(dir, 'orders.yaml'), ordersYaml('Orders'));
    writeFileSync(join(dir, 'alerts.workflow.json'), JSON.stringify({ workspace: 'shop', id: 'alerts', name: 'Alerts', trigger: { type: 'webhook' }, steps: [] }));
  });
  afterAll(async () => {
    await test.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses files with a missing variable (exit 2, naming it) and changes nothing', async () => {
    const result = await hookflow(test, ['apply', '-f', dir], { ORDERS_KEY: 'x-key-long-enough' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('SHOPIFY_SECRET');
    expect((await test.api('GET', '/api/workspaces/shop')).status).toBe(404);
  });

  it('--dry-run shows the plan and changes nothing', async () => {
    const result = await hookflow(test, ['apply', '-f', dir, '--dry-run'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('+ workspace shop');
    expect(result.stdout).toContain('+ create shop/orders');
    expect((await test.api('GET', '/api/workspaces/shop')).status).toBe(404);
  });

  it('creates every workflow, then a second apply changes nothing; the secrets from env work', async () => {
    const first = await hookflow(test, ['apply', '-f', dir], env);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('+ create shop/alerts');
    expect(first.stdout).toContain('Plan: 2 to create');
    const second = await hookflow(test, ['apply', '-f', dir], env);
    expect(second.stdout).toContain('No changes.');
    expect((await test.api('GET', '/api/workspaces/shop/workflows/orders')).body.version).toBe(1);
    const sent = await hookflow(test, ['send', 'shop/orders', '--data', '{"customer":{"email":"a@example.com"}}', '--key', env.ORDERS_KEY, '--secret', env.SHOPIFY_SECRET]);
    expect(sent.stdout).toMatch(/^200 /);
  });

  it('an edited file makes a new version, and only that workflow changes', async () => {
    writeFileSync(join(dir, 'orders.yaml'), ordersYaml('Orders (EU)'));
    const result = await hookflow(test, ['apply', '-f', dir, '--json'], env);
    // Files are read in name order: alerts.workflow.json, then orders.yaml.
    expect(JSON.parse(result.stdout)).toEqual({
      applied: true,
      plan: [{ action: 'unchanged', workspace: 'shop', id: 'alerts' }, { action: 'update', workspace: 'shop', id: 'orders', changed: ['name'] }],
    });
    expect((await test.api('GET', '/api/workspaces/shop/workflows/orders')).body).toMatchObject({ version: 2, name: 'Orders (EU)' });
    expect((await test.api('GET', '/api/workspaces/shop/workflows/alerts')).body.version).toBe(1);
  });

  it('export then apply round-trips with no change, and the export holds no secret', async () => {
    const exported = await hookflow(test, ['export', 'shop', '-o', join(dir, '..', 'hookflow-export.yaml')]);
    expect(exported.code).toBe(0);
    const text = readFileSync(join(dir, '..', 'hookflow-export.yaml'), 'utf8');
    expect(text).toContain('${env:HOOKFLOW_SECRET_SHOP_ORDERS_TRIGGER_SHAREDKEY?}');
    for (const secret of Object.values(env)) expect(text).not.toContain(secret);
    const again = await hookflow(test, ['apply', '-f', join(dir, '..', 'hookflow-export.yaml')]);
    rmSync(join(dir, '..', 'hookflow-export.yaml'));
    expect(again.stderr).toBe('');
    expect(again.stdout).toContain('No changes.');
  });

  it('--prune deletes workflows of the named workspaces that no file declares', async () => {
    await test.api('POST', '/api/workspaces/shop/workflows', { id: 'stray', name: 'Stray', trigger: { type: 'webhook' }, steps: [] });
    const result = await hookflow(test, ['apply', '-f', dir, '--prune'], env);
    expect(result.stdout).toContain('- delete shop/stray');
    expect((await test.api('GET', '/api/workspaces/shop/workflows/stray')).status).toBe(404);
    expect((await test.api('GET', '/api/workspaces/shop/workflows/alerts')).status).toBe(200);
  });
});

describe('hookflow secrets set/list/delete', () => {
  let test: TestApp;
  let shipping: Awaited<ReturnType<typeof startLoopbackServer>>;
  let dir: string;

  beforeAll(async () => {
    test = await startTestApp({ env: { HOOKFLOW_WORKER_CONCURRENCY: '1', HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8' } });
    shipping = await startLoopbackServer((_request, response) => response.end('{"label":"L-1"}'));
    dir = mkdtempSync(join(tmpdir(), 'hookflow-secrets-'));
    expect((await test.api('POST', '/api/workspaces', { id: 'vault', name: 'Vault' })).status).toBe(201);
  });
  afterAll(async () => {
    await test.stop();
    await shipping.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('set reads the value from stdin or --from-file (one trailing line break dropped); a run sends exactly that value', async () => {
    const fromStdin = await hookflow(test, ['secrets', 'set', 'vault/SHIP_TOKEN', '--allowed-origin', shipping.url], {}, 'ship-token-from-stdin\n');
    expect(fromStdin).toMatchObject({ code: 0, stderr: '' });
    expect(fromStdin.stdout).toContain(`vault/SHIP_TOKEN set (may be sent to ${shipping.url})`);
    writeFileSync(join(dir, 'token.txt'), 'file-secret-value\r\n');
    const fromFile = await hookflow(test, ['secrets', 'set', 'vault/FROM_FILE', '--from-file', join(dir, 'token.txt'), '--json']);
    expect(fromFile.code).toBe(0);
    expect(JSON.parse(fromFile.stdout)).toMatchObject({ name: 'FROM_FILE', allowedOrigins: [] });
    // A definition naming a secret is accepted only once the secret exists.
    const created = await test.api('POST', '/api/workspaces/vault/workflows', {
      id: 'ship', name: 'Ship', trigger: { type: 'webhook', sharedKey: 'vault-shared-key-1' },
      steps: [{ id: 'label', type: 'http', method: 'POST', url: `${shipping.url}/labels`, headers: { authorization: 'Bearer {{secrets.SHIP_TOKEN}}', 'x-extra': '{{secrets.FROM_FILE}}' }, body: { n: 1 } }],
    });
    expect(created.status).toBe(201);

    const sent = await fetch(`${test.url}/api/webhook/vault/ship`, { method: 'POST', headers: { 'x-webhook-key': 'vault-shared-key-1', 'content-type': 'application/json' }, body: '{}' });
    const { run_id: runId } = (await sent.json()) as { run_id: string };
    expect((await waitForRun(test, 'vault', runId)).status).toBe('succeeded');
    expect(shipping.received[0]?.headers['authorization']).toBe('Bearer ship-token-from-stdin');
    expect(shipping.received[0]?.headers['x-extra']).toBe('file-secret-value');
  });

  it('set replaces a value; list shows names and origins, never a value', async () => {
    const replaced = await hookflow(test, ['secrets', 'set', 'vault/FROM_FILE', '--from-file', '-'], {}, 'replaced-secret-value');
    expect(replaced.code).toBe(0);
    const listed = await hookflow(test, ['secrets', 'list', 'vault', '--json']);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).map((s: { name: string }) => s.name).sort()).toEqual(['FROM_FILE', 'SHIP_TOKEN']);
    const human = await hookflow(test, ['secrets', 'list', 'vault']);
    expect(human.stdout).toMatch(/^SHIP_TOKEN {2}http:\/\/127\.0\.0\.1:\d+ {2}/m);
    expect(human.stdout).toMatch(/^FROM_FILE {2}\(anywhere\)/m);
    for (const output of [listed.stdout, human.stdout, test.logs()]) {
      for (const value of ['ship-token-from-stdin', 'file-secret-value', 'replaced-secret-value']) expect(output).not.toContain(value);
    }
  });

  it('on a terminal, set prompts without echoing the value (script(1) gives the CLI a real pty)', async () => {
    const env = { PATH: process.env['PATH'] ?? '', HOOKFLOW_URL: test.url, HOOKFLOW_TOKEN: TEST_ADMIN_TOKEN };
    const command = `'${process.execPath}' '${CLI}' secrets set vault/TYPED_TOKEN --allowed-origin ${shipping.url}`;
    const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    child.stdout.on('data', (chunk: Buffer) => (screen += chunk.toString()));
    await eventually(async () => (screen.includes('value of vault/TYPED_TOKEN (not shown): ') ? true : undefined), 30_000);
    child.stdin.write('typed-secret-valuX\u007fe\r');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.stdin.end();
    expect(code).toBe(0);
    expect(screen).toContain('vault/TYPED_TOKEN set');
    expect(screen).not.toContain('typed-secret');

    const created = await test.api('POST', '/api/workspaces/vault/workflows', {
      id: 'typed', name: 'Typed', trigger: { type: 'webhook', sharedKey: 'vault-shared-key-2' },
      steps: [{ id: 'label', type: 'http', method: 'POST', url: `${shipping.url}/typed`, headers: { authorization: 'Bearer {{secrets.TYPED_TOKEN}}' }, body: { n: 2 } }],
    });
    expect(created.status).toBe(201);
    const sent = await fetch(`${test.url}/api/webhook/vault/typed`, { method: 'POST', headers: { 'x-webhook-key': 'vault-shared-key-2', 'content-type': 'application/json' }, body: '{}' });
    const { run_id: runId } = (await sent.json()) as { run_id: string };
    expect((await waitForRun(test, 'vault', runId)).status).toBe('succeeded');
    expect(shipping.received.find((r) => r.url === '/typed')?.headers['authorization']).toBe('Bearer typed-secret-value');
    expect((await hookflow(test, ['secrets', 'delete', 'vault/TYPED_TOKEN'])).code).toBe(0);
  });

  it('delete removes a secret (again: exit 5); bad names, empty values and a viewer token fail with their exit codes', async () => {
    expect((await hookflow(test, ['secrets', 'delete', 'vault/FROM_FILE'])).code).toBe(0);
    expect((await test.api('GET', '/api/workspaces/vault/secrets')).body.items.map((s: { name: string }) => s.name)).toEqual(['SHIP_TOKEN']);
    expect((await hookflow(test, ['secrets', 'delete', 'vault/FROM_FILE'])).code).toBe(5);
    expect((await hookflow(test, ['secrets', 'set', 'vault/1BAD'], {}, 'x')).code).toBe(2);
    const empty = await hookflow(test, ['secrets', 'set', 'vault/EMPTY'], {}, '\n');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('empty');
    expect((await hookflow(test, ['secrets', 'set', 'vault/NOPE', '--from-file', join(dir, 'missing.txt')])).code).toBe(2);
    expect((await hookflow(test, ['secrets', 'set', 'vault/BAD_ORIGIN', '--allowed-origin', 'https://x.example/path'], {}, 'v')).code).toBe(3);
    expect((await hookflow(test, ['secrets', 'list', 'nowhere'])).code).toBe(5);
    const token = JSON.parse((await hookflow(test, ['tokens', 'create', '--name', 'ro', '--role', 'viewer', '--json'])).stdout) as { token: string };
    expect((await hookflow(test, ['secrets', 'set', 'vault/SHIP_TOKEN'], { HOOKFLOW_TOKEN: token.token }, 'stolen')).code).toBe(4);
    expect((await test.api('GET', '/api/workspaces/vault/secrets')).body.items).toHaveLength(1);
  });
});
