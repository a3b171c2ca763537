import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp, type TestApp } from './helpers/app.js';

/**
 * Slow senders (slowloris): a raw socket that drips a request one byte every 200 ms must be cut
 * off by HOOKFLOW_HEADERS_TIMEOUT_MS / HOOKFLOW_REQUEST_TIMEOUT_MS well before this test's own
 * 10 s deadline, while normal webhooks keep being answered in the meantime.
 */
const KEY = 'slowloris-shared-key-2c8d';
const DEADLINE_MS = 10_000;
let app: TestApp;
let path: string;

beforeAll(async () => {
  app = await startTestApp({ env: { HOOKFLOW_HEADERS_TIMEOUT_MS: '1000', HOOKFLOW_REQUEST_TIMEOUT_MS: '1000' } });
  const created = await createWorkflow(app, { id: 'slow', name: 'slow', trigger: { type: 'webhook', sharedKey: KEY } });
  path = `/api/webhook/${created.workspaceId}/slow`;
});
afterAll(() => app.stop());

interface Outcome {
  /** 'closed': the server ended the connection; 'deadline': still open at the test's deadline. */
  end: 'closed' | 'deadline';
  /** What the server wrote back before closing (e.g. an HTTP 408), if anything. */
  received: string;
  bytesSent: number;
}

/** Opens a raw connection, sends `head` at once, then drips `drip` one byte every 200 ms. */
function dripRequest(head: string, drip: string): Promise<Outcome> {
  const { port } = new URL(app.url);
  return new Promise((resolve) => {
    const socket: Socket = connect({ host: '127.0.0.1', port: Number(port) });
    let received = '';
    let bytesSent = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (end: Outcome['end']) => {
      clearInterval(timer);
      clearTimeout(deadline);
      socket.destroy();
      resolve({ end, received, bytesSent });
    };
    const deadline = setTimeout(() => finish('deadline'), DEADLINE_MS);
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.on('error', () => undefined); // a reset counts as closed
    socket.on('close', () => finish('closed'));
    socket.on('connect', () => {
      socket.write(head);
      bytesSent += head.length;
      let index = 0;
      timer = setInterval(() => {
        if (socket.destroyed || !socket.writable) return;
        socket.write(drip[index % drip.length]!);
        bytesSent += 1;
        index += 1;
      }, 200);
    });
  });
}

async function normalWebhooksDuring(work: Promise<Outcome>): Promise<number[]> {
  const statuses: number[] = [];
  let done = false;
  void work.finally(() => (done = true));
  while (!done) {
    const response = await fetch(`${app.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-key': KEY }, body: '{"n":1}' });
    statuses.push(response.status);
    await response.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return statuses;
}

/** The connection ended by the server: closed outright, or after an HTTP 408. */
function expectCutOff(outcome: Outcome): void {
  expect(outcome.end, `still open after ${DEADLINE_MS} ms, ${outcome.bytesSent} bytes sent`).toBe('closed');
  // When there is an answer, it is the contract's shape, not Fastify's.
  if (outcome.received !== '') expect(outcome.received).toMatch(/^HTTP\/1\.1 408 [\s\S]*\r\n\r\n\{"error":"Request timeout"\}$/);
}

describe('slowloris', () => {
  it('dripping headers one byte per 200 ms is cut off, while a normal webhook gets 200', async () => {
    const drip = dripRequest(`POST ${path} HTTP/1.1\r\n`, `Host: 127.0.0.1\r\nX-Slow: ${'a'.repeat(500)}`);
    const [outcome, statuses] = await Promise.all([drip, normalWebhooksDuring(drip)]);
    expectCutOff(outcome);
    expect(statuses.length).toBeGreaterThan(0);
    expect(new Set(statuses)).toStrictEqual(new Set([200]));
  });

  it('complete headers but a body dripped one byte per 200 ms is cut off too', async () => {
    const head = `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Webhook-Key: ${KEY}\r\nContent-Length: 4000\r\n\r\n`;
    const drip = dripRequest(head, ' ');
    const [outcome, statuses] = await Promise.all([drip, normalWebhooksDuring(drip)]);
    expectCutOff(outcome);
    expect(new Set(statuses)).toStrictEqual(new Set([200]));
  });

  it('the server is healthy afterwards', async () => {
    const response = await fetch(`${app.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toStrictEqual({ status: 'ok' });
  });
});
