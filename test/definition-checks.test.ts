import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';

/** Checks at save time: each bad definition is a 400 naming the step, the field and the position. */
let test: TestApp;
const WS = 'checks';

beforeAll(async () => {
  test = await startTestApp();
  expect((await test.api('POST', '/api/workspaces', { id: WS, name: 'Checks' })).status).toBe(201);
});
afterAll(async () => {
  await test.stop();
});

const github = { type: 'webhook', headerMemory: 'githubHeaders', bodyMemory: 'githubPayload' };
const shop = { type: 'webhook', headerMemory: 'orderHeaders', bodyMemory: 'requestBody' };
const script = (id: string, code: string, extra: Record<string, unknown> = {}) => ({ id, type: 'script', code, ...extra });
const http = (id: string, extra: Record<string, unknown>) => ({ id, type: 'http', method: 'POST', url: 'https://api.example.com/orders', ...extra });

const BAD: { name: string; definition: Record<string, unknown>; detail: string }[] = [
  {
    name: 'a typo in a template variable, with a suggestion',
    definition: { name: 'typo', trigger: shop, steps: [http('send', { body: '{{requestBdy}}' })] },
    detail: 'steps.0.body (step "send", position 0): Unknown variable "requestBdy"; did you mean "requestBody"?',
  },
  {
    name: 'a typo inside a longer template, at its position',
    definition: { name: 'typo', trigger: shop, steps: [http('send', { url: 'https://api.example.com/orders/{{requestBody.id}}?h={{orderHeader.host}}' })] },
    detail: 'steps.0.url (step "send", position 52): Unknown variable "orderHeader"; did you mean "orderHeaders"?',
  },
  {
    name: 'requestBody read while bodyMemory is unset',
    definition: { name: 'no body memory', trigger: { type: 'webhook', headerMemory: 'requestHeaders' }, steps: [http('send', { headers: { 'x-order': '{{requestBody.order_id}}' } })] },
    detail: 'steps.0.headers.x-order (step "send", position 0): Unknown variable "requestBody"; trigger.bodyMemory is not set, so the request body is in no variable (set "bodyMemory": "requestBody")',
  },
  {
    name: 'an unknown secret',
    definition: { name: 'secret', trigger: shop, steps: [http('ship', { headers: { authorization: 'Bearer {{secrets.SHIPPING_TOKEN}}' } })] },
    detail: 'steps.0.headers.authorization (step "ship", position 7): Unknown secret "SHIPPING_TOKEN"',
  },
  {
    name: 'a CEL syntax error in an if',
    definition: { name: 'bad if', trigger: github, steps: [script('s', 'return 1;', { if: 'githubHeaders["x-github-event"] = "push"' })] },
    detail: 'steps.0.if (step "s", position 32): Unexpected character: =',
  },
  {
    name: 'a typo in an if, with a suggestion',
    definition: { name: 'typo if', trigger: github, steps: [script('s', 'return 1;', { if: 'githubHeader["x-github-event"] == "push"' })] },
    detail: 'steps.0.if (step "s", position 0): Unknown variable "githubHeader"; did you mean "githubHeaders"?',
  },
  {
    name: 'an if that can never be a boolean',
    definition: { name: 'int if', trigger: github, steps: [script('s', 'return 1;', { if: 'size(githubPayload.commits)' })] },
    detail: 'steps.0.if (step "s", position 0): A step condition ("if") must be a boolean expression; this one is always a int',
  },
  {
    name: 'a script syntax error, at its line and column',
    definition: { name: 'script', trigger: shop, steps: [script('extract', 'const order = memory.load("requestBody");\nreturn order.customer.;')] },
    detail: 'steps.0.code (step "extract", line 2, column 23): SyntaxError: expecting field name',
  },
  {
    name: 'a filter that reads a memory name instead of headers',
    definition: { name: 'filter', trigger: { ...github, filter: 'githubHeaders["x-github-event"] == "push"' }, steps: [] },
    detail: 'trigger.filter (position 0): Unknown variable "githubHeaders" (a filter sees headers, body and query); a filter runs before any memory exists: write "headers"',
  },
  {
    name: 'a filter that is a string, not a boolean',
    definition: { name: 'filter', trigger: { type: 'webhook', filter: '"critical"' }, steps: [] },
    detail: 'trigger.filter (position 0): The trigger filter must be a boolean expression; this one is always a string',
  },
  {
    name: "a later step's output",
    definition: { name: 'order', trigger: shop, steps: [http('send', { body: '{{summary}}' }), script('summarise', 'return 1;', { output: 'summary' })] },
    detail: 'steps.0.body (step "send", position 0): "summary" is the output of a later step (steps.1): it does not exist yet when this step runs',
  },
  {
    name: 'a malformed template',
    definition: { name: 'template', trigger: shop, steps: [http('send', { body: { note: 'total: {{ 1+1 }}' } })] },
    detail: 'steps.0.body.note (step "send", position 7): Invalid template expression "{{ 1+1 }}"',
  },
  {
    name: 'a template default that is not a literal',
    definition: { name: 'default', trigger: shop, steps: [http('send', { body: '{{requestBody.phone ?? unknown}}' })] },
    detail: 'steps.0.body (step "send", position 0): Invalid default in "{{requestBody.phone ?? unknown}}": write a JSON literal such as "text", 0, true or null',
  },
  {
    name: 'matches() in a condition',
    definition: { name: 'regex', trigger: github, steps: [script('s', 'return 1;', { if: 'githubPayload.ref.matches("^refs/heads/(a+)+$")' })] },
    detail: 'steps.0.if (step "s", position 18): "matches" is not available (its regular expressions are not linear-time); use contains, startsWith, endsWith or ==',
  },
  {
    name: 'a secret read in a condition',
    definition: { name: 'secret if', trigger: github, steps: [script('s', 'return 1;', { if: 'secrets.TOKEN == "x"' })] },
    detail: 'steps.0.if (step "s", position 0): secrets cannot be read in expressions; use {{secrets.NAME}} in an HTTP or LLM step field',
  },
  {
    name: 'an expression nested too deep',
    definition: { name: 'deep', trigger: github, steps: [script('s', 'return 1;', { if: `${'('.repeat(40)}true${')'.repeat(40)}` })] },
    detail: 'steps.0.if (step "s", position 32): Expression too complex: exceeded maxDepth (32)',
  },
  {
    name: "an LLM prompt reading the step's own output",
    definition: { name: 'llm', trigger: shop, steps: [{ id: 'ask', type: 'llm', baseUrl: 'https://llm.example.com/v1', model: 'm', prompt: 'Improve {{draft}}', output: 'draft' }] },
    detail: 'steps.0.prompt (step "ask", position 8): "draft" is this step\'s own output: it does not exist until the step has run',
  },
];

describe('bad definitions are refused at save time', () => {
  it.each(BAD)('$name', async ({ definition, detail }) => {
    const answer = await test.api('POST', `/api/workspaces/${WS}/workflows`, definition);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: 'Invalid request' });
    expect(answer.body.details).toContain(detail);
  });

  it('names every problem of a definition at once, and nothing is saved', async () => {
    const answer = await test.api('POST', `/api/workspaces/${WS}/workflows`, {
      id: 'many', name: 'many', trigger: shop,
      steps: [http('a', { body: '{{requestBdy}}' }), script('b', 'return (;', { if: '1 + 1' })],
    });
    expect(answer.status).toBe(400);
    expect(answer.body.details).toHaveLength(3);
    expect((await test.api('GET', `/api/workspaces/${WS}/workflows/many`)).status).toBe(404);
  });

  it('refuses an update the same way and keeps the current version', async () => {
    const created = await test.api('POST', `/api/workspaces/${WS}/workflows`, { id: 'kept', name: 'kept', trigger: shop, steps: [http('send', { body: '{{requestBody}}' })] });
    expect(created.status).toBe(201);
    const update = await test.api('PUT', `/api/workspaces/${WS}/workflows/kept`, { name: 'kept', trigger: shop, steps: [http('send', { body: '{{requestBdy}}' })] });
    expect(update.status).toBe(400);
    expect(update.body.details).toEqual(['steps.0.body (step "send", position 0): Unknown variable "requestBdy"; did you mean "requestBody"?']);
    const current = await test.api('GET', `/api/workspaces/${WS}/workflows/kept`);
    expect(current.body).toMatchObject({ version: 1, steps: [{ body: '{{requestBody}}' }] });
  });
});

describe('warnings: names only a script may create', () => {
  it("accepts a name an earlier script saves with memory.save, with a warning in the answer", async () => {
    const answer = await test.api('POST', `/api/workspaces/${WS}/workflows`, {
      name: 'saved', trigger: shop,
      steps: [script('prep', 'if (memory.load("requestBody").vip) memory.save("discount", 10); return 1;'), http('send', { body: { discount: '{{discount ?? 0}}' } })],
    });
    expect(answer.status).toBe(201);
    expect(answer.body.warnings).toEqual(['steps.1.body.discount (step "send", position 0): "discount" exists only if step "prep" saved it with memory.save; nothing else defines it']);
  });

  it('warns, not refuses, when an earlier script saves names chosen at run time', async () => {
    const answer = await test.api('POST', `/api/workspaces/${WS}/workflows`, {
      name: 'dynamic', trigger: shop,
      steps: [script('prep', 'for (const k of ["a", "b"]) memory.save(k, 1); return 1;'), http('send', { body: '{{a}}' })],
    });
    expect(answer.status).toBe(201);
    expect(answer.body.warnings).toEqual(['steps.1.body (step "send", position 0): "a" is not defined by the trigger or an earlier step\'s output; it exists only if step "prep" saves it with memory.save']);
  });

  it('a clean definition has no warnings field', async () => {
    const answer = await test.api('POST', `/api/workspaces/${WS}/workflows`, {
      name: 'clean', trigger: { ...github, filter: 'headers["x-github-event"] == "push" && body.ref.startsWith("refs/heads/")' },
      steps: [script('sum', 'return 1;', { output: 'total', if: 'githubPayload.commits.size() > 0 && webhook.method == "POST"' }), http('send', { body: { total: '{{total}}', event: '{{githubHeaders.x-github-event}}' } })],
    });
    expect(answer.status).toBe(201);
    expect(answer.body).not.toHaveProperty('warnings');
  });
});
