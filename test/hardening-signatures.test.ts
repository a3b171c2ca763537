import { createHmac, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp, type TestApp } from './helpers/app.js';

/**
 * Provider signatures end to end over HTTP. Every signature is computed here with node:crypto
 * from the provider's published algorithm (never with hookflow's own code); time comes from the
 * injected clock, so tolerance edges are exact and nothing sleeps.
 */
const START_MS = Date.UTC(2025, 0, 15, 12, 0, 0);
let nowMs = START_MS;
let test: TestApp;
let ws: string;

const REFUSED = { error: 'Invalid shared key' };
const hmac = (key: string | Buffer, data: string | Buffer) => createHmac('sha256', key).update(data);
const seconds = () => Math.floor(nowMs / 1000);
let deliveries = 0;

interface Scheme {
  name: string;
  secret: string;
  /** Another secret of the same shape, for forgeries. */
  otherSecret: string;
  signature: Record<string, unknown>;
  /** Headers carrying a signature of `body` under `secret`, made at Unix time `t` (seconds). */
  sign: (secret: string, body: Buffer, t: number) => Record<string, string>;
  timestamped: boolean;
}

const whsec = () => `whsec_${randomBytes(32).toString('base64')}`;
const SW_SECRET = whsec();
const swKey = (secret: string) => Buffer.from(secret.slice('whsec_'.length), 'base64');
const withPrefix = (prefix: string, body: Buffer) => Buffer.concat([Buffer.from(prefix), body]);

const SCHEMES: Scheme[] = [
  {
    name: 'github',
    secret: 'gh-hardening-secret-7f3a',
    otherSecret: 'gh-hardening-secret-XXXX',
    signature: { scheme: 'github' },
    sign: (secret, body) => ({ 'x-hub-signature-256': `sha256=${hmac(secret, body).digest('hex')}` }),
    timestamped: false,
  },
  {
    name: 'stripe',
    secret: 'whsec_stripe_hardening_91c2',
    otherSecret: 'whsec_stripe_hardening_XXXX',
    signature: { scheme: 'stripe' },
    sign: (secret, body, t) => ({ 'stripe-signature': `t=${t},v1=${hmac(secret, withPrefix(`${t}.`, body)).digest('hex')}` }),
    timestamped: true,
  },
  {
    name: 'slack',
    secret: 'slack-signing-secret-hardening-55d0',
    otherSecret: 'slack-signing-secret-hardening-XXXX',
    signature: { scheme: 'slack' },
    sign: (secret, body, t) => ({
      'x-slack-request-timestamp': String(t),
      'x-slack-signature': `v0=${hmac(secret, withPrefix(`v0:${t}:`, body)).digest('hex')}`,
    }),
    timestamped: true,
  },
  {
    name: 'shopify',
    secret: 'shpss_hardening_secret_0b9e',
    otherSecret: 'shpss_hardening_secret_XXXX',
    signature: { scheme: 'shopify' },
    sign: (secret, body) => ({ 'x-shopify-hmac-sha256': hmac(secret, body).digest('base64') }),
    timestamped: false,
  },
  {
    name: 'standard-webhooks',
    secret: SW_SECRET,
    otherSecret: whsec(),
    signature: { scheme: 'standard-webhooks' },
    sign: (secret, body, t) => {
      // webhook-id is also the default idempotency key, so every delivery gets a fresh one.
      const id = `msg_${++deliveries}_${randomBytes(4).toString('hex')}`;
      const signed = hmac(swKey(secret), withPrefix(`${id}.${t}.`, body)).digest('base64');
      return { 'webhook-id': id, 'webhook-timestamp': String(t), 'webhook-signature': `v1,${signed}` };
    },
    timestamped: true,
  },
  {
    name: 'hmac-sha256 (custom header, base64, prefix)',
    secret: 'acme-generic-hmac-secret-c4e1',
    otherSecret: 'acme-generic-hmac-secret-XXXX',
    signature: { scheme: 'hmac-sha256', header: 'X-Acme-Signature', encoding: 'base64', prefix: 'sha256=' },
    sign: (secret, body) => ({ 'x-acme-signature': `sha256=${hmac(secret, body).digest('base64')}` }),
    timestamped: false,
  },
];

const hooks = new Map<string, string>();

beforeAll(async () => {
  test = await startTestApp({ clock: () => nowMs, keepDataDir: true });
  const first = await createWorkflow(test, { id: 'sig-0', name: 'sig', trigger: { type: 'webhook', signature: { ...SCHEMES[0]!.signature, secret: SCHEMES[0]!.secret } } });
  ws = first.workspaceId;
  hooks.set(SCHEMES[0]!.name, `${test.url}/api/webhook/${ws}/sig-0`);
  for (const [index, scheme] of SCHEMES.entries()) {
    if (index === 0) continue;
    const created = await test.api('POST', `/api/workspaces/${ws}/workflows`, {
      id: `sig-${index}`,
      name: `Signed by ${scheme.name}`,
      trigger: { type: 'webhook', signature: { ...scheme.signature, secret: scheme.secret } },
    });
    expect(created.status).toBe(201);
    hooks.set(scheme.name, `${test.url}/api/webhook/${ws}/sig-${index}`);
  }
});
afterAll(async () => {
  await test.stop();
  rmSync(test.dataDir, { recursive: true, force: true });
});

async function post(url: string, body: Buffer, headers: Record<string, string>) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : JSON.parse(text) };
}

const bodyOf = (n: number) => Buffer.from(JSON.stringify({ event: 'order.created', n }));

describe.each(SCHEMES)('$name signature over HTTP', (scheme) => {
  const url = () => hooks.get(scheme.name)!;

  it('valid signature, no shared key → 200 and a queued run', async () => {
    const body = bodyOf(1);
    const answer = await post(url(), body, scheme.sign(scheme.secret, body, seconds()));
    expect(answer.status).toBe(200);
    expect(answer.body).toStrictEqual({ status: 'accepted', workflow_started: true, run_id: expect.stringMatching(/^run_/) });
    const run = await test.api('GET', `/api/workspaces/${ws}/runs/${answer.body.run_id}`);
    expect(run.status).toBe(200);
    expect(run.body.status).toBe('queued');
  });

  it('one byte of the body changed after signing → 401', async () => {
    const body = bodyOf(2);
    const headers = scheme.sign(scheme.secret, body, seconds());
    const tampered = Buffer.from(body);
    const digit = tampered.indexOf('2'.charCodeAt(0));
    tampered[digit] = '3'.charCodeAt(0); // still valid JSON: only the signature can refuse it
    const answer = await post(url(), tampered, headers);
    expect(answer).toStrictEqual({ status: 401, body: REFUSED });
  });

  it('missing signature header → 401', async () => {
    const answer = await post(url(), bodyOf(3), {});
    expect(answer).toStrictEqual({ status: 401, body: REFUSED });
  });

  it('signature made with another secret → 401', async () => {
    const body = bodyOf(4);
    const forged = scheme.sign(scheme.otherSecret, body, seconds());
    const answer = await post(url(), body, forged);
    expect(answer).toStrictEqual({ status: 401, body: REFUSED });
  });

  if (scheme.timestamped) it('timestamp at the 300 s edge → 200; one second past it (either direction) → 401', async () => {
    const signedAt = seconds();
    try {
      nowMs = START_MS + 300_000;
      const edgeBody = bodyOf(5);
      expect((await post(url(), edgeBody, scheme.sign(scheme.secret, edgeBody, signedAt))).status).toBe(200);
      nowMs = START_MS + 301_000;
      const late = bodyOf(6);
      expect(await post(url(), late, scheme.sign(scheme.secret, late, signedAt))).toStrictEqual({ status: 401, body: REFUSED });
      nowMs = START_MS - 301_000;
      const early = bodyOf(7);
      expect(await post(url(), early, scheme.sign(scheme.secret, early, signedAt))).toStrictEqual({ status: 401, body: REFUSED });
    } finally {
      nowMs = START_MS;
    }
  });

  else it('has no timestamp, so a signature made long ago still verifies (no replay defence)', async () => {
    const body = bodyOf(8);
    const headers = scheme.sign(scheme.secret, body, seconds());
    try {
      nowMs = START_MS + 86_400_000;
      expect((await post(url(), body, headers)).status).toBe(200);
    } finally {
      nowMs = START_MS;
    }
  });
});

describe('standard-webhooks, signed by the reference `standardwebhooks` package', () => {
  it('our independent computation equals the package, and the package-signed call is accepted', async () => {
    const body = bodyOf(9);
    const t = seconds();
    const id = `msg_pkg_${randomBytes(4).toString('hex')}`;
    const signature = new Webhook(SW_SECRET).sign(id, new Date(t * 1000), body);
    const independent = `v1,${hmac(swKey(SW_SECRET), withPrefix(`${id}.${t}.`, body)).digest('base64')}`;
    expect(signature).toBe(independent);
    const answer = await post(hooks.get('standard-webhooks')!, body, { 'webhook-id': id, 'webhook-timestamp': String(t), 'webhook-signature': signature });
    expect(answer.status).toBe(200);
    expect(answer.body.workflow_started).toBe(true);
  });

  it('accepts a space-separated list where only the second v1 signature matches', async () => {
    const body = bodyOf(10);
    const t = seconds();
    const id = `msg_multi_${randomBytes(4).toString('hex')}`;
    const good = new Webhook(SW_SECRET).sign(id, new Date(t * 1000), body);
    const other = new Webhook(whsec()).sign(id, new Date(t * 1000), body);
    const answer = await post(hooks.get('standard-webhooks')!, body, { 'webhook-id': id, 'webhook-timestamp': String(t), 'webhook-signature': `${other} ${good}` });
    expect(answer.status).toBe(200);
  });
});

describe('signature and shared key together', () => {
  const KEY = 'both-required-shared-key-e8a1';
  const SECRET = 'both-required-gh-secret-19fd';
  const sign = (body: Buffer) => ({ 'x-hub-signature-256': `sha256=${hmac(SECRET, body).digest('hex')}` });
  let url: string;

  beforeAll(async () => {
    const created = await test.api('POST', `/api/workspaces/${ws}/workflows`, {
      id: 'sig-and-key',
      name: 'both',
      trigger: { type: 'webhook', sharedKey: KEY, signature: { scheme: 'github', secret: SECRET, requireSharedKey: true } },
    });
    expect(created.status).toBe(201);
    url = `${test.url}/api/webhook/${ws}/sig-and-key`;
  });

  it('by default the signature replaces the key: a valid signature with a wrong key is still accepted', async () => {
    const body = bodyOf(11);
    const answer = await post(`${hooks.get('github')!}?key=not-the-key-at-all`, body, SCHEMES[0]!.sign(SCHEMES[0]!.secret, body, seconds()));
    expect(answer.status).toBe(200);
  });

  it('requireSharedKey: signature alone → 401, key alone → 401, wrong key + signature → 401, both → 200', async () => {
    const body = bodyOf(12);
    expect(await post(url, body, sign(body))).toStrictEqual({ status: 401, body: REFUSED });
    expect(await post(`${url}?key=${KEY}`, body, {})).toStrictEqual({ status: 401, body: REFUSED });
    expect(await post(`${url}?key=wrong-key-wrong-key`, body, sign(body))).toStrictEqual({ status: 401, body: REFUSED });
    const both = await post(url, body, { ...sign(body), 'x-webhook-key': KEY });
    expect(both.status).toBe(200);
    expect(both.body.workflow_started).toBe(true);
  });

  it('records signature refusals with a reason naming the failure, never the signature', async () => {
    const github = SCHEMES[0]!;
    const body = bodyOf(13);
    const forged = github.sign(github.otherSecret, body, seconds());
    expect((await post(hooks.get('github')!, body, forged)).status).toBe(401);
    expect((await post(hooks.get('github')!, body, {})).status).toBe(401);
    const listed = await test.api('GET', `/api/workspaces/${ws}/workflows/sig-0/events?rejected=true`);
    expect(listed.status).toBe(200);
    const reasons = listed.body.items.map((item: { reason: string }) => item.reason);
    // The service prefixes `signature_` to the scheme's own reason, which already reads
    // "signature_mismatch", so the stored reason is "signature_signature_mismatch" (see report).
    expect(reasons.some((reason: string) => /^signature_(signature_)?mismatch$/.test(reason))).toBe(true);
    expect(reasons).toContain('signature_missing_header');
    expect(JSON.stringify(listed.body)).not.toContain(forged['x-hub-signature-256']!.slice(7, 30));
  });
});

describe('secrets at rest', () => {
  it('no signature secret or presented key is in plaintext in the data dir or the logs', async () => {
    const secrets = [...SCHEMES.flatMap((scheme) => [scheme.secret, scheme.otherSecret]), 'both-required-shared-key-e8a1', 'both-required-gh-secret-19fd', 'not-the-key-at-all', 'wrong-key-wrong-key'];
    await new Promise((resolve) => setTimeout(resolve, 100)); // fire-and-forget rejection records
    const bytes = Buffer.concat(readdirSync(test.dataDir).map((name) => readFileSync(join(test.dataDir, name))));
    expect(secrets.filter((secret) => bytes.includes(secret) || test.logs().includes(secret))).toStrictEqual([]);
  });
});
