import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp, TEST_ADMIN_TOKEN, type TestApp } from './helpers/app.js';
import { ensureConsoleBuilt } from './helpers/browser.js';
import { eventually } from './helpers/loopback.js';
import { SseReader } from './helpers/sse.js';

/*
 * The API the web console stands on, without a browser: sessions (cookie, CSRF, expiry,
 * revocation, roles) and the live stream of a workflow's requests and runs.
 */

/** Added to the real time on the server's clock: the tests move it forward. */
let now = 0;
let test: TestApp;

beforeAll(async () => {
  ensureConsoleBuilt();
  test = await startTestApp({ clock: () => Date.now() + now, env: { HOOKFLOW_WORKER_CONCURRENCY: '1', HOOKFLOW_STREAM_POLL_MS: '100', HOOKFLOW_SESSION_IDLE_MINUTES: '30', HOOKFLOW_SESSION_MAX_HOURS: '2' } });
}, 180_000);
afterAll(() => test.stop());

interface Session {
  cookie: string;
  csrf: string;
  setCookie: string;
  body: any;
}

async function signIn(token: string, headers: Record<string, string> = {}): Promise<Session> {
  const response = await fetch(`${test.url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ token }) });
  const body = (await response.json()) as any;
  expect(response.status, JSON.stringify(body)).toBe(201);
  const setCookie = response.headers.get('set-cookie') ?? '';
  return { cookie: setCookie.split(';', 1)[0] as string, csrf: body.csrfToken, setCookie, body };
}

/** A call authenticated by the session cookie only (as the browser makes it). */
async function call(session: Pick<Session, 'cookie'> & { csrf?: string }, method: string, path: string, body?: unknown) {
  const response = await fetch(`${test.url}${path}`, {
    method,
    headers: { cookie: session.cookie, ...(session.csrf === undefined ? {} : { 'x-csrf-token': session.csrf }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : JSON.parse(text), headers: response.headers };
}

async function apiToken(role: string, workspaceId?: string): Promise<{ id: string; token: string }> {
  const created = await test.api('POST', '/api/tokens', { name: `${role} for console`, role, ...(workspaceId === undefined ? {} : { workspaceId }) });
  expect(created.status).toBe(201);
  return created.body;
}

describe('POST /api/session (sign in)', () => {
  it('exchanges the admin token for an HttpOnly, SameSite=Strict session cookie and a CSRF token', async () => {
    const session = await signIn(TEST_ADMIN_TOKEN);
    expect(session.setCookie).toMatch(/^hookflow_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=7200$/);
    expect(session.body).toMatchObject({ role: 'admin', workspaceId: null, actor: { name: 'admin' } });
    expect(session.csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The answer never carries the token back.
    expect(JSON.stringify(session.body)).not.toContain(TEST_ADMIN_TOKEN);
    const me = await call(session, 'GET', '/api/session');
    expect(me.status).toBe(200);
    expect(me.body.csrfToken).toBe(session.csrf);
    expect((await call(session, 'GET', '/api/workspaces')).status).toBe(200);
    // Signing in is audited, as its token's holder.
    const audit = await test.api('GET', '/api/audit?limit=20');
    expect(audit.body.items.map((entry: { action: string; actor: { id: string } }) => [entry.action, entry.actor.id])).toContainEqual(['session.open', 'admin']);
  });

  it('refuses a wrong token with 401 and sets no cookie', async () => {
    for (const token of ['not-the-admin-token-at-all', 'hft_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']) {
      const response = await fetch(`${test.url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
      expect(response.status).toBe(401);
      expect(response.headers.get('set-cookie')).toBeNull();
      expect(((await response.json()) as any).error).toBe('Unauthorized');
    }
    const empty = await fetch(`${test.url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(empty.status).toBe(400);
  });

  it('marks the cookie Secure when a trusted proxy says the call came over HTTPS, and not otherwise', async () => {
    const plain = await signIn(TEST_ADMIN_TOKEN, { 'x-forwarded-proto': 'https' });
    // This server trusts no proxy: the header is the client's word, not believed.
    expect(plain.setCookie).not.toContain('Secure');
    const proxied = await startTestApp({ env: { HOOKFLOW_TRUST_PROXY: '1' } });
    try {
      const response = await fetch(`${proxied.url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' }, body: JSON.stringify({ token: TEST_ADMIN_TOKEN }) });
      expect(response.status).toBe(201);
      expect(response.headers.get('set-cookie')).toMatch(/; Secure$/);
    } finally {
      await proxied.stop();
    }
  });

  it('stores only a digest of the session id, and never the token, in the database or the logs', async () => {
    const { token } = await apiToken('editor');
    const session = await signIn(token);
    const sessionId = session.cookie.split('=')[1] as string;
    // Let the writer thread commit and the WAL hold the rows.
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const file of readdirSync(test.dataDir).filter((name) => name.startsWith('hookflow.db'))) {
      const bytes = readFileSync(join(test.dataDir, file)).toString('latin1');
      expect(bytes.includes(sessionId), file).toBe(false);
      expect(bytes.includes(token), file).toBe(false);
    }
    const logs = test.logs();
    for (const secret of [sessionId, token, session.csrf, TEST_ADMIN_TOKEN]) expect(logs.includes(secret)).toBe(false);
    expect(logs).toContain('/api/session');
  });
});

describe('writes through a session cookie', () => {
  it('need the session\'s CSRF token in x-csrf-token; bearer calls need none', async () => {
    const session = await signIn(TEST_ADMIN_TOKEN);
    const ws = `csrf-${Date.now().toString(36)}`;
    const missing = await call({ cookie: session.cookie }, 'POST', '/api/workspaces', { id: ws, name: 'CSRF' });
    expect(missing.status).toBe(403);
    expect(missing.body.error).toBe('Missing or wrong CSRF token');
    const other = await signIn(TEST_ADMIN_TOKEN);
    expect((await call({ cookie: session.cookie, csrf: other.csrf }, 'POST', '/api/workspaces', { id: ws, name: 'CSRF' })).status).toBe(403);
    expect((await test.api('GET', `/api/workspaces/${ws}`)).status).toBe(404);
    expect((await call(session, 'POST', '/api/workspaces', { id: ws, name: 'CSRF' })).status).toBe(201);
    // Reads need no CSRF token.
    expect((await call({ cookie: session.cookie }, 'GET', `/api/workspaces/${ws}`)).status).toBe(200);
    // The audit log names the session's holder like a bearer call's.
    const audit = await test.api('GET', `/api/audit?workspaceId=${ws}`);
    expect(audit.body.items.map((entry: { action: string; actor: { id: string } }) => [entry.action, entry.actor.id])).toContainEqual(['workspace.create', 'admin']);
  });

  it('carry the token\'s role and workspace: a viewer reads and gets 403 on writes; a workspace token sees its workspace only', async () => {
    const { workspaceId, workflowId } = await createWorkflow(test, { name: 'roles', trigger: { type: 'webhook', sharedKey: 'roles-shared-key-0123' } });
    const viewer = await signIn((await apiToken('viewer')).token);
    expect(viewer.body.role).toBe('viewer');
    expect((await call(viewer, 'GET', `/api/workspaces/${workspaceId}/workflows/${workflowId}`)).status).toBe(200);
    const write = await call(viewer, 'PATCH', `/api/workspaces/${workspaceId}/workflows/${workflowId}`, { enabled: false });
    expect(write.status).toBe(403);
    expect(write.body.error).toBe('Forbidden');
    expect((await call(viewer, 'GET', `/api/workspaces/${workspaceId}/workflows/${workflowId}/webhook-url?reveal=true`)).status).toBe(403);

    const scoped = await signIn((await apiToken('editor', workspaceId)).token);
    expect(scoped.body.workspaceId).toBe(workspaceId);
    expect((await call(scoped, 'PATCH', `/api/workspaces/${workspaceId}/workflows/${workflowId}`, { enabled: false })).status).toBe(200);
    const other = await createWorkflow(test, { name: 'elsewhere', trigger: { type: 'webhook', sharedKey: 'elsewhere-shared-key-0123' } });
    expect((await call(scoped, 'GET', `/api/workspaces/${other.workspaceId}/workflows`)).status).toBe(404);
    expect((await call(scoped, 'POST', '/api/workspaces', { id: 'nope-ws', name: 'x' })).status).toBe(403);
  });
});

describe('the end of a session', () => {
  it('DELETE /api/session signs out: the cookie is cleared and no longer works', async () => {
    const session = await signIn(TEST_ADMIN_TOKEN);
    expect((await call({ cookie: session.cookie }, 'DELETE', '/api/session')).status).toBe(403);
    const out = await call(session, 'DELETE', '/api/session');
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^hookflow_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0/);
    expect((await call(session, 'GET', '/api/workspaces')).status).toBe(401);
  });

  it('revoking the API token ends its sessions at once', async () => {
    const { id, token } = await apiToken('editor');
    const session = await signIn(token);
    expect((await call(session, 'GET', '/api/workspaces')).status).toBe(200);
    expect((await test.api('DELETE', `/api/tokens/${id}`)).status).toBe(204);
    expect((await call(session, 'GET', '/api/workspaces')).status).toBe(401);
    const again = await fetch(`${test.url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
    expect(again.status).toBe(401);
  });

  it('expires after the idle timeout, and at the absolute end however busy', async () => {
    const idle = await signIn(TEST_ADMIN_TOKEN);
    now += 29 * 60_000;
    expect((await call(idle, 'GET', '/api/workspaces')).status).toBe(200);
    now += 29 * 60_000; // used 29 min ago: still alive
    expect((await call(idle, 'GET', '/api/workspaces')).status).toBe(200);
    now += 31 * 60_000;
    expect((await call(idle, 'GET', '/api/workspaces')).status).toBe(401);

    const busy = await signIn(TEST_ADMIN_TOKEN);
    for (let minutes = 0; minutes < 119; minutes += 20) {
      expect((await call(busy, 'GET', '/api/workspaces')).status).toBe(200);
      now += 20 * 60_000;
    }
    expect((await call(busy, 'GET', '/api/workspaces')).status).toBe(401);
  });
});

describe('GET …/workflows/:wf/stream (live changes)', () => {
  it('sends new requests, refused calls and run status changes as server-sent events, on a session cookie', async () => {
    const { workspaceId, workflowId, webhookUrl } = await createWorkflow(test, {
      name: 'live',
      trigger: { type: 'webhook', sharedKey: 'live-stream-key-0123456', bodyMemory: 'requestBody' },
      steps: [{ id: 'double', type: 'script', code: 'return memory.load("requestBody").n * 2', output: 'doubled' }],
    });
    const session = await signIn(TEST_ADMIN_TOKEN);
    const stream = await SseReader.open(`${test.url}/api/workspaces/${workspaceId}/workflows/${workflowId}/stream`, { cookie: session.cookie });
    try {
      expect(stream.status).toBe(200);
      expect(stream.contentType).toMatch(/^text\/event-stream/);
      const accepted = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":21,"big":12345678901234567890}' });
      const { run_id: runId } = (await accepted.json()) as { run_id: string };
      const event = await stream.next((m) => m.event === 'event');
      expect(event.data).toMatchObject({ test: false, filtered: false, webhook: { method: 'POST' } });
      expect(event.data.body.n).toBe(21);
      const succeeded = await stream.next((m) => m.event === 'run' && m.data.id === runId && m.data.status === 'succeeded');
      expect(succeeded.data.workflowId).toBe(workflowId);

      const refused = await fetch(webhookUrl.replace(/key=[^&]+/, 'key=wrong-key'), { method: 'POST', body: '{}' });
      expect(refused.status).toBe(401);
      const rejection = await stream.next((m) => m.event === 'refused');
      expect(rejection.data).toMatchObject({ status: 401 });
      expect(rejection.data.reason).toMatch(/key/i);
      expect(JSON.stringify(rejection.data)).not.toContain('wrong-key');
    } finally {
      stream.close();
    }
  });

  it('takes a bearer token too, refuses unauthenticated callers, and answers 404 for an unknown workflow', async () => {
    const { workspaceId, workflowId, testWebhookUrl } = await createWorkflow(test, { name: 'bearer live', trigger: { type: 'webhook', sharedKey: 'bearer-live-key-0123456' } });
    const anonymous = await fetch(`${test.url}/api/workspaces/${workspaceId}/workflows/${workflowId}/stream`);
    expect(anonymous.status).toBe(401);
    const unknown = await fetch(`${test.url}/api/workspaces/${workspaceId}/workflows/nope/stream`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    expect(unknown.status).toBe(404);
    const stream = await SseReader.open(`${test.url}/api/workspaces/${workspaceId}/workflows/${workflowId}/stream`, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` });
    try {
      expect(stream.status).toBe(200);
      expect((await fetch(`${testWebhookUrl}?key=bearer-live-key-0123456`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"probe":true}' })).status).toBe(200);
      const event = await stream.next((m) => m.event === 'event');
      expect(event.data).toMatchObject({ test: true, body: { probe: true } });
    } finally {
      stream.close();
    }
  });

  it('ends when its session ends', async () => {
    const { workspaceId, workflowId } = await createWorkflow(test, { name: 'ending', trigger: { type: 'webhook', sharedKey: 'ending-live-key-0123456' } });
    const session = await signIn(TEST_ADMIN_TOKEN);
    const stream = await SseReader.open(`${test.url}/api/workspaces/${workspaceId}/workflows/${workflowId}/stream`, { cookie: session.cookie });
    expect(stream.status).toBe(200);
    expect((await call(session, 'DELETE', '/api/session')).status).toBe(204);
    // The stream checks its session every 30 s of the server's clock.
    now += 31_000;
    await eventually(async () => {
      try {
        await stream.next(() => false, 300);
        return undefined;
      } catch (error) {
        return (error as Error).message === 'stream ended' ? true : undefined;
      }
    });
  });
});

describe('the console\'s files at /', () => {
  it('serves the app for client routes, hashed assets cached for a year, and never the app for /api/…', async () => {
    for (const path of ['/', '/w/shop/f/orders/runs', '/w/x/runs/run_1']) {
      const page = await fetch(`${test.url}${path}`);
      expect(page.status, path).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(page.headers.get('cache-control')).toBe('no-cache');
      expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(page.headers.get('x-frame-options')).toBe('DENY');
      const html = await page.text();
      expect(html).toContain('<div id="root">');
      // Works offline: every script and style comes from this server.
      expect(html).not.toMatch(/(?:src|href)="https?:/);
      const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1] as string;
      const script = await fetch(`${test.url}${asset}`);
      expect(script.status).toBe(200);
      expect(script.headers.get('content-type')).toMatch(/javascript/);
      expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    }
    for (const path of ['/api/nope', '/api/workspaces/x/nope', '/api']) {
      const answer = await fetch(`${test.url}${path}`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
      expect(answer.status, path).toBe(404);
      expect(answer.headers.get('content-type'), path).toMatch(/^application\/json/);
    }
    expect((await fetch(`${test.url}/assets/../../package.json`)).headers.get('content-type')).toMatch(/^text\/html/);
    expect((await fetch(`${test.url}/%2e%2e/%2e%2e/package.json`)).headers.get('content-type')).toMatch(/^text\/html/);
  });
});
