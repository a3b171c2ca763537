import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp, type TestApp } from './helpers/app.js';
import { rawExchange } from './helpers/raw-http.js';

/**
 * Keys never ride in fragments, and the access log keeps no query value: a raw `#key=` request
 * is refused before it can authenticate, and keys sent under twenty parameter names (accepted,
 * refused, too large) leave no trace in any log line.
 */
const KEY = 'frag-shared-key-7d41c09e55';
let app: TestApp;
let ws: string;

beforeAll(async () => {
  app = await startTestApp({ env: { LOG_LEVEL: 'trace' } });
  ws = (await createWorkflow(app, { id: 'hook', name: 'hook', trigger: { type: 'webhook', sharedKey: KEY, maxBodyBytes: 64 } })).workspaceId;
});
afterAll(() => app.stop());

function rawPost(target: string): Promise<string> {
  const body = '{"n":1}';
  return rawExchange(app.url, `POST ${target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
}

describe('a # in the request target', () => {
  it('is a 400 before any key is read, and the key after it is never logged', async () => {
    for (const target of [`/api/webhook/${ws}/hook#key=${KEY}`, `/api/webhook/${ws}/hook?x=1#key=${KEY}`, `/api/webhook-test/${ws}/hook#key=${KEY}`]) {
      const answer = await rawPost(target);
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer.slice(answer.indexOf('\r\n\r\n') + 4)).toBe('{"error":"Invalid request format"}');
    }
    // The same key in the query (where it belongs) is accepted: the refusal is about the `#`.
    expect(await rawPost(`/api/webhook/${ws}/hook?key=${KEY}`)).toMatch(/^HTTP\/1\.1 200 /);
    const events = await app.api('GET', `/api/workspaces/${ws}/workflows/hook/events`);
    expect(events.body.items).toHaveLength(1);
    expect(app.logs()).toContain('#[redacted]');
    expect(app.logs()).not.toContain(KEY);
  });
});

describe('the access log', () => {
  it('keeps parameter names and no values: keys under twenty names, accepted or refused, never appear', async () => {
    const names = ['key', 'apikey', 'api_key', 'apiKey', 'token', 'access_token', 'auth', 'secret', 'password', 'sig', 'signature', 'k', 'KEY', 'x-api-key', 'client_secret', 'private_token', 'session', 'code', 'hmac', 'webhook_key'];
    const keys = names.map((name, index) => `leak-${index}-${name.replace(/\W/g, '')}-c0ffee${index}`);
    const statuses: number[] = [];
    for (const [index, name] of names.entries()) {
      const query = `${encodeURIComponent(name)}=${encodeURIComponent(keys[index] as string)}`;
      // Small bodies answer 200 (with the real key in a header) or 401; large ones 413.
      const body = index % 3 === 2 ? 'x'.repeat(200) : '{"n":1}';
      const headers: Record<string, string> = { 'content-type': 'application/json', ...(index % 2 === 0 ? { 'x-webhook-key': KEY } : {}) };
      const response = await fetch(`${app.url}/api/webhook/${ws}/hook?${query}&flag`, { method: 'POST', headers, body });
      statuses.push(response.status);
    }
    expect(new Set(statuses)).toStrictEqual(new Set([200, 401, 413]));
    const logs = app.logs();
    for (const key of keys) expect(logs).not.toContain(key);
    expect(logs).toContain('?apikey=[redacted]&[redacted]');
  });
});
