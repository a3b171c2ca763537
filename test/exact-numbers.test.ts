import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TEST_ADMIN_TOKEN, type TestApp } from './helpers/app.js';
import { eventually, startLoopbackServer } from './helpers/loopback.js';

/**
 * A Shopify order id above 2^53 keeps its digits from the webhook through the stored event, run
 * memory, a relayed HTTP body, the relayed answer and a script. Answers are checked as TEXT:
 * parsing them with JSON.parse here would round the very digits under test.
 */
const ID = '820982911946154508';
const DECIMAL = '0.12345678901234567890123';
const BODY = `{"order_id":${ID},"total":${DECIMAL},"qty":2,"name":"Shoes"}`;

let app: TestApp;
let shop: Awaited<ReturnType<typeof startLoopbackServer>>;

async function getText(path: string): Promise<string> {
  const response = await fetch(`${app.url}${path}`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
  expect(response.status).toBe(200);
  return response.text();
}

beforeAll(async () => {
  // Relays what it received, and answers with a big number of its own.
  shop = await startLoopbackServer((request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(`{"received":${request.body},"shipment":9007199254740993}`);
  });
  app = await startTestApp({ env: { HOOKFLOW_WORKER_CONCURRENCY: '1', HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8' } });
  expect((await app.api('POST', '/api/workspaces', { id: 'shopify', name: 'Shopify' })).status).toBe(201);
});

afterAll(async () => {
  await app.stop();
  await shop.close();
});

describe('numbers stay exact', () => {
  it(`${ID} reads back with the same digits from the events API, run memory, a relayed body, and a script`, async () => {
    const flow = await app.api('POST', '/api/workspaces/shopify/workflows', {
      id: 'orders', name: 'orders', maxAttempts: 1,
      trigger: { type: 'webhook', bodyMemory: 'orderData' },
      steps: [
        { id: 'relay', type: 'http', method: 'POST', url: `${shop.url}/orders`, body: '{{orderData}}', output: 'relayed' },
        { id: 'text', type: 'http', method: 'POST', url: `${shop.url}/text`, body: 'order {{orderData.order_id}} total {{orderData.total}}' },
        { id: 'script', type: 'script', output: 'scripted', code: 'const o = memory.load("orderData"); return { id: String(o.order_id), type: typeof o.order_id, total: String(o.total), qty: o.qty + 1, shipment: String(memory.load("relayed").body.shipment) };' },
      ],
    });
    expect(flow.status).toBe(201);
    const response = await fetch(flow.body.webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY });
    const { run_id: runId } = (await response.json()) as { run_id: string };

    const run = await eventually(async () => {
      const text = await getText(`/api/workspaces/shopify/runs/${runId}`);
      return /"status":"(succeeded|failed)"/.test(text.slice(0, 400)) ? text : undefined;
    });
    expect(run).toContain('"status":"succeeded"');

    // The events API answers the stored event with its digits.
    const events = await getText('/api/workspaces/shopify/workflows/orders/events');
    expect(events).toContain(`"order_id":${ID}`);
    expect(events).toContain(`"total":${DECIMAL}`);

    // Run memory: the trigger's variable, the relayed answer (the shop's own big number), the script's view.
    expect(run).toContain(`"orderData":{"order_id":${ID},"total":${DECIMAL},"qty":2,"name":"Shoes"}`);
    expect(run).toContain('"shipment":9007199254740993');
    expect(run).toContain(`"scripted":{"id":"${ID}","type":"string","total":"${DECIMAL}","qty":3,"shipment":"9007199254740993"}`);

    // The called server received the digits: as a JSON number in a whole-field body, and in text.
    expect(shop.received[0]?.body).toBe(`{"order_id":${ID},"total":${DECIMAL},"qty":2,"name":"Shoes"}`);
    expect(shop.received[1]?.body).toBe(`order ${ID} total ${DECIMAL}`);
  });

  it('a trigger filter and a step condition compare such a number exactly', async () => {
    const flow = await app.api('POST', '/api/workspaces/shopify/workflows', {
      id: 'one-order', name: 'one order', maxAttempts: 1,
      trigger: { type: 'webhook', bodyMemory: 'orderData', filter: `body.order_id == ${ID}` },
      steps: [
        { id: 'exact', type: 'script', if: `orderData.order_id == ${ID} && orderData.total == "${DECIMAL}"`, code: 'return 1;', output: 'one' },
        { id: 'other', type: 'script', if: `orderData.order_id != ${ID}`, code: 'return 2;', output: 'two' },
      ],
    });
    expect(flow.status).toBe(201);
    const post = async (body: string) => (await fetch(flow.body.webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).json() as Promise<Record<string, unknown>>;
    // ...509 and ...508 are one and the same double: a rounded comparison would let it through.
    expect(await post(BODY.replace(ID, '820982911946154509'))).toEqual({ status: 'accepted', workflow_started: false, filtered: true });
    const accepted = await post(BODY);
    expect(accepted).toMatchObject({ workflow_started: true });
    const run = await eventually(async () => {
      const detail = await app.api('GET', `/api/workspaces/shopify/runs/${String(accepted['run_id'])}`);
      return detail.body.status === 'succeeded' || detail.body.status === 'failed' ? detail.body : undefined;
    });
    expect(run.steps.map((step: { status: string }) => step.status)).toStrictEqual(['succeeded', 'skipped']);
  });

  it('a test run\'s inline event keeps the digits: in the script, the answer and the stored test run', async () => {
    const flow = await app.api('POST', '/api/workspaces/shopify/workflows', {
      id: 'tried', name: 'tried', maxAttempts: 1,
      trigger: { type: 'webhook', bodyMemory: 'orderData' },
      steps: [{ id: 'script', type: 'script', output: 'scripted', code: 'return String(memory.load("orderData").order_id);' }],
    });
    expect(flow.status).toBe(201);
    // Sent as text: JSON.stringify of a parsed object here would round the digits under test.
    const response = await fetch(`${app.url}/api/workspaces/shopify/workflows/tried/test-runs`, {
      method: 'POST', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: `{"mode":"mock","event":{"body":${BODY}}}`,
    });
    expect(response.status).toBe(200);
    const answer = await response.text();
    expect(answer).toContain(`"output":"${ID}"`);
    const id = /"id":"(test_[^"]+)"/.exec(answer)?.[1];
    expect(await getText(`/api/workspaces/shopify/test-runs/${String(id)}`)).toBe(answer);
    // The safe parser still runs first: a poisoned body is refused.
    const poisoned = await fetch(`${app.url}/api/workspaces/shopify/workflows/tried/test-runs`, {
      method: 'POST', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: `{"mode":"mock","event":{"body":{"__proto__":{"x":${ID}}}}}`,
    });
    expect(poisoned.status).toBe(400);
  });

  it('leaves ordinary numbers as numbers, and a repeated key keeps its last value as JSON.parse does', async () => {
    const flow = await app.api('POST', '/api/workspaces/shopify/workflows', {
      id: 'plain', name: 'plain', maxAttempts: 1,
      trigger: { type: 'webhook', bodyMemory: 'data' },
      steps: [{ id: 'sum', type: 'script', output: 'sum', code: 'const d = memory.load("data"); return d.a + d.b + d.dup;' }],
    });
    const response = await fetch(flow.body.webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"a":1.5,"b":40,"dup":${ID},"dup":0.5,"big":${ID}}` });
    const { run_id: runId } = (await response.json()) as { run_id: string };
    const run = await eventually(async () => {
      const text = await getText(`/api/workspaces/shopify/runs/${runId}`);
      return /"status":"(succeeded|failed)"/.test(text.slice(0, 400)) ? text : undefined;
    });
    expect(run).toContain('"sum":42');
  });
});
