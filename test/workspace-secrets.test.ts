import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { eventually, startLoopbackServer } from './helpers/loopback.js';

/**
 * Workspace secrets end to end on the real server: the write-only API, `{{secrets.NAME}}` in an
 * HTTP step reaching a loopback server, allowed origins, the save warning, and a scan of the
 * SQLite files (WAL included), the logs, every API answer and the run records for plaintext —
 * with the loopback server echoing the secret back in its body, headers and error answers.
 */
const TOKEN = 'sekrit-shipping-token-7f3a9c1e"\\quote';
const OTHER = 'sekrit-other-value-2b8d4e6f';

let app: TestApp;
let echo: Awaited<ReturnType<typeof startLoopbackServer>>;
let elsewhere: Awaited<ReturnType<typeof startLoopbackServer>>;
/** Every body the management API answered during the test, as text. */
const answers: string[] = [];

async function api(method: string, path: string, body?: unknown) {
  const result = await app.api(method, path, body);
  answers.push(JSON.stringify(result.body));
  return result;
}

async function webhook(webhookUrl: string, body: unknown): Promise<string> {
  const response = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer = (await response.json()) as { run_id: string };
  expect(response.status).toBe(200);
  return answer.run_id;
}

async function finishedRun(ws: string, runId: string) {
  return eventually(async () => {
    const run = await api('GET', `/api/workspaces/${ws}/runs/${runId}`);
    return run.body.status === 'succeeded' || run.body.status === 'failed' ? run.body : undefined;
  });
}

function filesContain(dir: string, needle: string): boolean {
  return readdirSync(dir).some((name) => readFileSync(join(dir, name)).includes(needle));
}

beforeAll(async () => {
  // Echoes the authorization header back in a JSON body and a response header; `/fail` answers
  // 400 with the echo, so the error path is covered too.
  echo = await startLoopbackServer((request, response) => {
    response.setHeader('content-type', 'application/json');
    response.setHeader('x-echo', String(request.headers.authorization));
    if (request.url.startsWith('/fail')) response.statusCode = 400;
    response.end(JSON.stringify({ youSent: request.headers.authorization, body: request.body }));
  });
  elsewhere = await startLoopbackServer((_request, response) => response.end('{}'));
  app = await startTestApp({ env: { LOG_LEVEL: 'trace', HOOKFLOW_WORKER_CONCURRENCY: '1', HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8' } });
  expect((await api('POST', '/api/workspaces', { id: 'shop', name: 'Shop' })).status).toBe(201);
});

afterAll(async () => {
  await app.stop();
  await echo.close();
  await elsewhere.close();
});

describe('workspace secrets API', () => {
  it('creates (201), replaces (200), lists names and times only, and deletes (204)', async () => {
    const created = await api('PUT', '/api/workspaces/shop/secrets/API_KEY', { value: OTHER });
    expect(created.status).toBe(201);
    expect(created.body).toStrictEqual({ name: 'API_KEY', allowedOrigins: [], createdAt: expect.any(String), updatedAt: created.body.createdAt });
    const replaced = await api('PUT', '/api/workspaces/shop/secrets/API_KEY', { value: `${OTHER}-2`, allowedOrigins: ['HTTPS://Api.Example.com:443'] });
    expect(replaced.status).toBe(200);
    expect(replaced.body.createdAt).toBe(created.body.createdAt);
    expect(replaced.body.allowedOrigins).toStrictEqual(['https://api.example.com']);

    const list = await api('GET', '/api/workspaces/shop/secrets');
    expect(list.status).toBe(200);
    const item = list.body.items.find((s: { name: string }) => s.name === 'API_KEY');
    expect(Object.keys(item).sort()).toStrictEqual(['allowedOrigins', 'createdAt', 'name', 'updatedAt']);
    expect(list.body).toHaveProperty('nextCursor');

    expect((await api('DELETE', '/api/workspaces/shop/secrets/API_KEY')).status).toBe(204);
    expect((await api('DELETE', '/api/workspaces/shop/secrets/API_KEY')).status).toBe(404);
    expect((await api('GET', '/api/workspaces/shop/secrets')).body.items.some((s: { name: string }) => s.name === 'API_KEY')).toBe(false);
  });

  it('takes every name docs/secrets.md allows, one starting with _ included, and documents that rule', async () => {
    expect((await api('PUT', '/api/workspaces/shop/secrets/_PRIVATE_KEY', { value: OTHER })).status).toBe(201);
    expect((await api('GET', '/api/workspaces/shop/secrets')).body.items.some((s: { name: string }) => s.name === '_PRIVATE_KEY')).toBe(true);
    expect((await api('DELETE', '/api/workspaces/shop/secrets/_PRIVATE_KEY')).status).toBe(204);
    const document = await api('GET', '/api/openapi.json');
    const parameters = document.body.paths['/api/workspaces/{ws}/secrets/{name}'].put.parameters as { name: string; schema: { pattern: string } }[];
    expect(parameters.find((p) => p.name === 'name')?.schema.pattern).toBe('^[A-Za-z_][A-Za-z0-9_]{0,63}$');
  });

  it('pages the list like the other lists', async () => {
    await api('POST', '/api/workspaces', { id: 'paged', name: 'Paged' });
    for (const name of ['A', 'B', 'C']) expect((await api('PUT', `/api/workspaces/paged/secrets/${name}`, { value: 'v' })).status).toBe(201);
    const first = await api('GET', '/api/workspaces/paged/secrets?limit=2');
    expect(first.body.items).toHaveLength(2);
    const second = await api('GET', `/api/workspaces/paged/secrets?limit=2&cursor=${first.body.nextCursor}`);
    expect([...first.body.items, ...second.body.items].map((s: { name: string }) => s.name).sort()).toStrictEqual(['A', 'B', 'C']);
    expect(second.body.nextCursor).toBeNull();
  });

  it('refuses bad input with 400 naming the field, unknown workspaces with 404, no token with 401', async () => {
    const cases: [string, unknown, string][] = [
      ['1bad', { value: 'x' }, 'name'],
      ['OK', {}, 'value'],
      ['OK', { value: '' }, 'value'],
      ['OK', { value: 'x', allowedOrigins: ['https://api.example.com/path'] }, 'allowedOrigins[0]'],
      ['OK', { value: 'x', allowedOrigins: ['ftp://files.example.com'] }, 'allowedOrigins[0]'],
      ['OK', { value: 'x', allowedOrigins: 'https://api.example.com' }, 'allowedOrigins'],
      ['OK', { value: 'x', extra: 1 }, 'extra'],
    ];
    for (const [name, body, field] of cases) {
      const answer = await api('PUT', `/api/workspaces/shop/secrets/${name}`, body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.details.join(' ')).toContain(`${field}:`);
    }
    expect((await api('PUT', '/api/workspaces/nope/secrets/OK', { value: 'x' })).status).toBe(404);
    expect((await api('GET', '/api/workspaces/nope/secrets')).status).toBe(404);
    const anonymous = await fetch(`${app.url}/api/workspaces/shop/secrets`);
    expect(anonymous.status).toBe(401);
  });
});

describe('save warnings', () => {
  it('warns about a literal credential header and points to secrets; a secret reference gets none', async () => {
    const literal = await api('POST', '/api/workspaces/shop/workflows', {
      id: 'literal', name: 'literal', trigger: { type: 'webhook' },
      steps: [{ id: 'ship', type: 'http', method: 'POST', url: 'https://api.example.com/x', headers: { Authorization: 'Bearer abc123', 'X-Api-Key': 'k-1', 'private-token': 't', accept: 'application/json' } }],
    });
    expect(literal.status).toBe(201);
    expect(literal.body.warnings).toHaveLength(3);
    expect(literal.body.warnings.join(' ')).toContain('{{secrets.NAME}}');
    expect(literal.body.warnings[0]).toContain('steps.ship.headers.Authorization');

    // A reference must name an existing secret (save-time checks, docs/expressions.md).
    expect([200, 201]).toContain((await api('PUT', '/api/workspaces/shop/secrets/SAVE_WARN_TOKEN', { value: 'w-1' })).status);
    const referenced = await api('POST', '/api/workspaces/shop/workflows', {
      id: 'referenced', name: 'referenced', trigger: { type: 'webhook' },
      steps: [{ id: 'ship', type: 'http', method: 'POST', url: 'https://api.example.com/x', headers: { authorization: 'Bearer {{secrets.SAVE_WARN_TOKEN}}' } }],
    });
    expect(referenced.status).toBe(201);
    expect(referenced.body).not.toHaveProperty('warnings');
    // A GET answer PUT back as is (warnings included) is accepted.
    const got = await api('GET', '/api/workspaces/shop/workflows/literal');
    const put = await api('PUT', '/api/workspaces/shop/workflows/literal', { ...got.body, warnings: ['x'] });
    expect(put.status).toBe(200);
    expect(put.body.warnings).toHaveLength(3);
  });
});

describe('{{secrets.NAME}} in an HTTP step', () => {
  it('reaches the called server, never the run record, the database, the logs or any API answer — even echoed back', async () => {
    expect((await api('PUT', '/api/workspaces/shop/secrets/TOKEN', { value: TOKEN, allowedOrigins: [echo.url] })).status).toBe(201);
    const flow = await api('POST', '/api/workspaces/shop/workflows', {
      id: 'ship', name: 'ship', maxAttempts: 1,
      trigger: { type: 'webhook', bodyMemory: 'order' },
      steps: [
        { id: 'send', type: 'http', method: 'POST', url: `${echo.url}/ship?t={{secrets.TOKEN}}`, headers: { authorization: 'Bearer {{secrets.TOKEN}}' }, body: { order: '{{order}}', token: '{{secrets.TOKEN}}' }, output: 'shipped' },
        { id: 'fail', type: 'http', method: 'POST', url: `${echo.url}/fail`, headers: { authorization: 'Bearer {{secrets.TOKEN}}' }, body: 'raw {{secrets.TOKEN}}' },
      ],
    });
    expect(flow.status).toBe(201);
    const runId = await webhook(flow.body.webhookUrl, { id: 7 });
    const run = await finishedRun('shop', runId);

    // The called server got the real value, in the header, the query and the body (JSON-escaped there).
    const sent = echo.received.find((r) => r.url.startsWith('/ship'));
    expect(sent?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(JSON.parse(sent?.body ?? '{}')).toStrictEqual({ order: { id: 7 }, token: TOKEN });
    expect(echo.received.find((r) => r.url.startsWith('/fail'))?.body).toBe(`raw ${TOKEN}`);

    // The run: the echo in the stored output (body and headers) and the failing step's error are redacted.
    expect(run.status).toBe('failed');
    const [send, fail] = run.steps;
    expect(send.output.body.youSent).toBe('Bearer [secret:TOKEN]');
    expect(send.output.headers['x-echo']).toBe('Bearer [secret:TOKEN]');
    expect(run.memory.shipped.body.youSent).toBe('Bearer [secret:TOKEN]');
    expect(fail.status).toBe('failed');
    expect(fail.output.body.body).toBe('raw [secret:TOKEN]');
    expect(JSON.stringify(run)).not.toContain('sekrit');

    // Nothing holds the plaintext: events, runs, the workflow, the secrets list, the files, the logs.
    await api('GET', '/api/workspaces/shop/workflows/ship/events');
    await api('GET', '/api/workspaces/shop/workflows/ship/runs');
    await api('GET', '/api/workspaces/shop/workflows/ship');
    await api('GET', '/api/workspaces/shop/secrets');
    for (const needle of [TOKEN, 'sekrit-shipping-token', encodeURIComponent(TOKEN)]) {
      expect(answers.some((text) => text.includes(needle)), `API answers contain ${needle}`).toBe(false);
      expect(app.logs().includes(needle), `logs contain ${needle}`).toBe(false);
      expect(filesContain(app.dataDir, needle), `data dir contains ${needle}`).toBe(false);
    }
    expect(readdirSync(app.dataDir)).toContain('hookflow.db-wal');
  });

  it('is refused, naming the secret, when sent to an origin it does not allow; nothing is sent', async () => {
    expect((await api('PUT', '/api/workspaces/shop/secrets/BOUND', { value: OTHER, allowedOrigins: [echo.url] })).status).toBe(201);
    const flow = await api('POST', '/api/workspaces/shop/workflows', {
      id: 'repointed', name: 'repointed', maxAttempts: 1, trigger: { type: 'webhook' },
      steps: [{ id: 'send', type: 'http', method: 'POST', url: `${elsewhere.url}/steal`, headers: { 'x-api-key': '{{secrets.BOUND}}' } }],
    });
    const run = await finishedRun('shop', await webhook(flow.body.webhookUrl, {}));
    expect(run.status).toBe('failed');
    expect(run.steps[0].error).toContain('HOOKFLOW_ERR_SECRET_DESTINATION');
    expect(run.steps[0].error).toContain('"BOUND"');
    expect(run.steps[0].error).toContain(elsewhere.url);
    expect(elsewhere.received).toHaveLength(0);
  });

  it('fills an LLM step\'s apiKey and prompt from secrets, and redacts a reply that repeats them', async () => {
    expect((await api('PUT', '/api/workspaces/shop/secrets/LLM_KEY', { value: OTHER })).status).toBe(201);
    const llm = await startLoopbackServer((request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ choices: [{ message: { content: `key ${String(request.headers.authorization)}; ${request.body}` } }] }));
    });
    try {
      const flow = await api('POST', '/api/workspaces/shop/workflows', {
        id: 'summarise', name: 'summarise', maxAttempts: 1, trigger: { type: 'webhook' },
        steps: [{ id: 'ask', type: 'llm', baseUrl: llm.url, model: 'm', apiKey: '{{secrets.LLM_KEY}}', prompt: 'the code is {{secrets.LLM_KEY}}', output: 'answer' }],
      });
      expect(flow.status).toBe(201);
      const run = await finishedRun('shop', await webhook(flow.body.webhookUrl, {}));
      expect(run.status).toBe('succeeded');
      expect(llm.received[0]?.headers.authorization).toBe(`Bearer ${OTHER}`);
      expect(llm.received[0]?.body).toContain(`the code is ${OTHER}`);
      expect(run.memory.answer).toContain('key Bearer [secret:LLM_KEY]');
      expect(run.memory.answer).toContain('the code is [secret:LLM_KEY]');
      expect(JSON.stringify(run)).not.toContain(OTHER);
      expect(filesContain(app.dataDir, OTHER)).toBe(false);
      expect(app.logs()).not.toContain(OTHER);
    } finally {
      await llm.close();
    }
  });

  it('fails the step naming an unknown secret, sending nothing', async () => {
    // An unknown secret is refused at save time; one deleted after the save is missing at run time.
    expect((await api('PUT', '/api/workspaces/shop/secrets/MISSING', { value: 'gone-soon' })).status).toBe(201);
    const flow = await api('POST', '/api/workspaces/shop/workflows', {
      id: 'unknown', name: 'unknown', maxAttempts: 1, trigger: { type: 'webhook' },
      steps: [{ id: 'send', type: 'http', method: 'POST', url: `${elsewhere.url}/x`, headers: { authorization: '{{secrets.MISSING}}' } }],
    });
    expect(flow.status).toBe(201);
    expect((await api('DELETE', '/api/workspaces/shop/secrets/MISSING')).status).toBe(204);
    const run = await finishedRun('shop', await webhook(flow.body.webhookUrl, {}));
    expect(run.status).toBe('failed');
    expect(run.steps[0].error).toContain('secrets.MISSING');
    expect(elsewhere.received).toHaveLength(0);
  });
});
