import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp, type TestApp } from './helpers/app.js';
import { startLoopbackServer } from './helpers/loopback.js';
import { waitForRun } from './helpers/runs.js';

/**
 * A port-scoped allowlist entry opens only its port, live on loopback: with `127.0.0.1:P`
 * allowed, an HTTP step reaches P, is refused on P+1 (a server listens there and records
 * nothing), and with `127.0.0.2/32` allowed (every port) hookflow's own port on 127.0.0.2 is
 * still refused while another port there is reached.
 */
type Server = Awaited<ReturnType<typeof startLoopbackServer>>;
const ok = (_request: unknown, response: import('node:http').ServerResponse) => response.end('ok');
let allowed: Server;
let neighbour: Server;
let sameHost: Server;
let app: TestApp;
let ws: string;
let webhookUrl: string;

/** Two servers on adjacent ports of 127.0.0.1 (retried a few times if the next port is taken). */
async function adjacentPair(): Promise<[Server, Server]> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const first = await startLoopbackServer(ok);
    try {
      return [first, await startLoopbackServer(ok, { port: first.port + 1 })];
    } catch {
      await first.close();
    }
  }
  throw new Error('no two adjacent free ports on 127.0.0.1');
}

beforeAll(async () => {
  [allowed, neighbour] = await adjacentPair();
  sameHost = await startLoopbackServer(ok, { host: '127.0.0.2' });
  app = await startTestApp({
    env: { HOST: '127.0.0.2', HOOKFLOW_WORKER_CONCURRENCY: '1', HOOKFLOW_EGRESS_ALLOWLIST: `127.0.0.1:${allowed.port}, 127.0.0.2/32` },
  });
  ({ workspaceId: ws, webhookUrl } = await createWorkflow(app, {
      id: 'fetch',
      name: 'fetch',
      maxAttempts: 1,
      trigger: { type: 'webhook', bodyMemory: 'body' },
      steps: [{ id: 'get', type: 'http', method: 'GET', url: '{{body.url}}', output: 'answer' }],
  }));
});
afterAll(async () => {
  await app.stop();
  await Promise.all([allowed.close(), neighbour.close(), sameHost.close()]);
});

describe('a port-scoped allowlist entry', () => {
  async function run(url: string) {
    const accepted = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url }) });
    expect(accepted.status).toBe(200);
    const { run_id: runId } = (await accepted.json()) as { run_id: string };
    return waitForRun(app, ws, runId);
  }

  it('reaches its own port', async () => {
    const reached = await run(`${allowed.url}/yes`);
    expect(reached.status).toBe('succeeded');
    expect(reached.steps[0]?.output.body).toBe('ok');
    expect(allowed.received.map((request) => request.url)).toContain('/yes');
  });

  it('refuses the port next to it, before connecting', async () => {
    const refused = await run(`${neighbour.url}/no`);
    expect(refused.status).toBe('failed');
    expect(refused.steps[0]?.error).toBe(`HOOKFLOW_ERR_EGRESS_REFUSED: Outbound request to 127.0.0.1 refused: 127.0.0.1 is in 127.0.0.0/8 (loopback) (the allowlist opens it on other ports than ${neighbour.port})`);
    expect(neighbour.received).toHaveLength(0);
  });

  it("refuses hookflow's own address and port although 127.0.0.2/32 is allowed, and reaches another port there", async () => {
    const own = new URL(app.url);
    expect(own.hostname).toBe('127.0.0.2');
    const refused = await run(`${app.url}/healthz`);
    expect(refused.status).toBe('failed');
    expect(refused.steps[0]?.error).toBe(`HOOKFLOW_ERR_EGRESS_REFUSED: Outbound request to 127.0.0.2 refused: 127.0.0.2 port ${own.port} is hookflow's own listen address`);
    expect(app.logs()).not.toMatch(/"url":"\/healthz"/);
    const reached = await run(`${sameHost.url}/other`);
    expect(reached.status).toBe('succeeded');
    expect(sameHost.received.map((request) => request.url)).toContain('/other');
  });
});
