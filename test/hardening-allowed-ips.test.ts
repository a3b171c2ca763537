import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp, type TestApp } from './helpers/app.js';
import { eventually } from './helpers/loopback.js';

/**
 * `trigger.allowedIps` over real sockets: IPv4 and IPv6 CIDRs, and `X-Forwarded-For` believed
 * only with HOOKFLOW_TRUST_PROXY. Every server here listens on 127.0.0.1 or ::1 only.
 */
const KEY = 'allowed-ips-shared-key-6b2e';
const FORBIDDEN = { status: 403, body: { error: 'Forbidden' } };

async function post(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-key': KEY, ...headers }, body: '{"n":1}' });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : JSON.parse(text) };
}

/** Creates workflows named after their allowlists in one workspace; returns their webhook URLs. */
async function setUp(app: TestApp, lists: Record<string, string[]>): Promise<Record<string, string>> {
  const ws = (await createWorkflow(app, { id: 'seed', name: 'seed', trigger: { type: 'webhook' } })).workspaceId;
  const urls: Record<string, string> = {};
  for (const [id, allowedIps] of Object.entries(lists)) {
    const created = await app.api('POST', `/api/workspaces/${ws}/workflows`, { id, name: id, trigger: { type: 'webhook', sharedKey: KEY, allowedIps } });
    expect(created.status).toBe(201);
    urls[id] = `${app.url}/api/webhook/${ws}/${id}`;
  }
  return urls;
}

async function ipv6LoopbackAvailable(): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(0, '::1', () => probe.close(() => resolve(true)));
  });
}

describe('allowedIps over IPv4 (server on 127.0.0.1)', () => {
  let app: TestApp;
  let urls: Record<string, string>;
  beforeAll(async () => {
    app = await startTestApp();
    urls = await setUp(app, { ten: ['10.0.0.0/8'], loop: ['127.0.0.0/8'], single: ['127.0.0.1'], several: ['192.0.2.0/24', '127.0.0.1/32'], v6only: ['::1/128'] });
  });
  afterAll(() => app.stop());

  it('10.0.0.0/8 → 403 Forbidden for 127.0.0.1, even with the right key', async () => {
    expect(await post(urls['ten']!)).toStrictEqual(FORBIDDEN);
  });

  it('403 comes before the key check: a wrong key is still 403, not 401', async () => {
    expect(await post(urls['ten']!, { 'x-webhook-key': 'wrong-key-wrong-key' })).toStrictEqual(FORBIDDEN);
  });

  it('127.0.0.0/8, a bare address and a list with a match → 200', async () => {
    for (const id of ['loop', 'single', 'several']) {
      const answer = await post(urls[id]!);
      expect(answer.status).toBe(200);
      expect(answer.body.workflow_started).toBe(true);
    }
  });

  it('an IPv6-only list refuses an IPv4 caller', async () => {
    expect(await post(urls['v6only']!)).toStrictEqual(FORBIDDEN);
  });

  it('X-Forwarded-For is ignored without HOOKFLOW_TRUST_PROXY', async () => {
    expect((await post(urls['loop']!, { 'x-forwarded-for': '10.1.2.3' })).status).toBe(200);
    expect(await post(urls['ten']!, { 'x-forwarded-for': '10.1.2.3' })).toStrictEqual(FORBIDDEN);
  });

  // BUG (see report): allowedIps entries are not validated when the workflow is saved
  // (src/config/workflow-definition.ts, triggerSchema.allowedIps is any non-empty string);
  // compileIpAllowlist (src/ingress/ip-allowlist.ts:12) throws HOOKFLOW_ERR_VALIDATION on the
  // first webhook instead, so the definition is accepted and every webhook call then gets a 400.
  it('refuses an invalid CIDR when the workflow is saved', async () => {
    const ws = new URL(urls['loop']!).pathname.split('/')[3]!;
    const created = await app.api('POST', `/api/workspaces/${ws}/workflows`, { id: 'bad-cidr', name: 'bad', trigger: { type: 'webhook', sharedKey: KEY, allowedIps: ['10.0.0.0/33'] } });
    expect(created.status).toBe(400);
  });
});

describe('allowedIps with HOOKFLOW_TRUST_PROXY=true', () => {
  let app: TestApp;
  let urls: Record<string, string>;
  beforeAll(async () => {
    app = await startTestApp({ env: { HOOKFLOW_TRUST_PROXY: 'true' } });
    urls = await setUp(app, { ten: ['10.0.0.0/8'], loop: ['127.0.0.0/8'] });
  });
  afterAll(() => app.stop());

  it('believes X-Forwarded-For: 10.1.2.3 is refused by 127.0.0.0/8 and admitted by 10.0.0.0/8', async () => {
    expect(await post(urls['loop']!, { 'x-forwarded-for': '10.1.2.3' })).toStrictEqual(FORBIDDEN);
    expect((await post(urls['ten']!, { 'x-forwarded-for': '10.1.2.3' })).status).toBe(200);
  });

  it('believes only the address our proxy appended, not one the client wrote before it', async () => {
    // The client sent "X-Forwarded-For: 127.0.0.5"; its proxy appended the client's real address.
    expect(await post(urls['loop']!, { 'x-forwarded-for': '127.0.0.5, 10.1.2.3' })).toStrictEqual(FORBIDDEN);
    expect((await post(urls['ten']!, { 'x-forwarded-for': '127.0.0.5, 10.1.2.3' })).status).toBe(200);
  });

  it('without the header the socket address is used', async () => {
    expect((await post(urls['loop']!)).status).toBe(200);
    expect(await post(urls['ten']!)).toStrictEqual(FORBIDDEN);
  });

  it('records the forwarded address as the source of refused and accepted calls', async () => {
    expect((await post(urls['loop']!, { 'x-forwarded-for': '10.9.8.7' })).status).toBe(403);
    const [, , , ws] = new URL(urls['loop']!).pathname.split('/');
    // Refusals are recorded fire-and-forget, so the record may land just after the answer.
    await eventually(async () => {
      const rejected = await app.api('GET', `/api/workspaces/${ws}/workflows/loop/events?rejected=true`);
      return rejected.body.items.some((item: { sourceIp: string }) => item.sourceIp === '10.9.8.7') ? true : undefined;
    }, 5000);
    const accepted = await post(urls['ten']!, { 'x-forwarded-for': '10.7.7.7' });
    const run = await app.api('GET', `/api/workspaces/${ws}/runs/${accepted.body.run_id}`);
    expect(run.body.memory.webhook.sourceIp).toBe('10.7.7.7');
  });
});

const ipv6 = await ipv6LoopbackAvailable();
if (!ipv6) console.warn('hardening-allowed-ips: ::1 is not available on this machine; the IPv6 cases are skipped');

describe.skipIf(!ipv6)('allowedIps over IPv6 (server on [::1]; skipped when ::1 is unavailable)', () => {
  let app: TestApp;
  let urls: Record<string, string>;
  beforeAll(async () => {
    app = await startTestApp({ env: { HOST: '::1' } });
    expect(app.url).toMatch(/^http:\/\/\[::1\]:\d+$/);
    urls = await setUp(app, { host: ['::1/128'], doc: ['2001:db8::/32'], v4: ['127.0.0.0/8'], any6: ['::/0'] });
  });
  afterAll(() => app.stop());

  it('::1/128 and ::/0 admit a caller on ::1', async () => {
    expect((await post(urls['host']!)).status).toBe(200);
    expect((await post(urls['any6']!)).status).toBe(200);
  });

  it('2001:db8::/32 and an IPv4 list refuse a caller on ::1', async () => {
    expect(await post(urls['doc']!)).toStrictEqual(FORBIDDEN);
    expect(await post(urls['v4']!)).toStrictEqual(FORBIDDEN);
  });
});
