import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startApp, type RunningApp } from '../../src/app/app.js';
import { loadServerConfig } from '../../src/config/server-config.js';
import { createLogger } from '../../src/telemetry/logger.js';

/** The admin token every in-process test server uses. */
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestApp {
  app: RunningApp;
  url: string;
  dataDir: string;
  /** Every log line the server wrote, as text (to check that secrets never appear). */
  logs: () => string;
  /** Calls the management API with the admin token. */
  api: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any; headers: Headers }>;
  stop: () => Promise<void>;
}

/**
 * Starts the real hookflow (HTTP server on port 0, real SQLite in a fresh temp dir) in this
 * process. `env` overrides configuration; `clock` injects time.
 */
export async function startTestApp(options: { env?: Record<string, string>; clock?: () => number; dataDir?: string; keepDataDir?: boolean } = {}): Promise<TestApp> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'hookflow-test-'));
  const config = loadServerConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    HOOKFLOW_DATA_DIR: dataDir,
    HOOKFLOW_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    HOOKFLOW_WORKER_CONCURRENCY: '0',
    LOG_LEVEL: 'debug',
    ...options.env,
  });
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger({ level: config.logLevel, destination: sink });
  const app = await startApp({ config, logger, role: 'serve', ...(options.clock === undefined ? {} : { clock: options.clock }) });
  const url = app.url as string;
  return {
    app,
    url,
    dataDir,
    logs: () => lines.join(''),
    async api(method, path, body) {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return { status: response.status, body: text === '' ? null : JSON.parse(text), headers: response.headers };
    },
    async stop() {
      await app.stop();
      if (options.keepDataDir !== true) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Creates a workspace and a workflow; returns their ids and the webhook URL with its key. */
export async function createWorkflow(test: TestApp, definition: Record<string, unknown>, workspaceId = `ws-${Math.random().toString(36).slice(2, 10)}`) {
  const ws = await test.api('POST', '/api/workspaces', { id: workspaceId, name: 'Test workspace' });
  if (ws.status !== 201) throw new Error(`workspace create failed: ${JSON.stringify(ws.body)}`);
  const wf = await test.api('POST', `/api/workspaces/${workspaceId}/workflows`, definition);
  if (wf.status !== 201) throw new Error(`workflow create failed: ${JSON.stringify(wf.body)}`);
  return { workspaceId, workflowId: wf.body.id as string, webhookUrl: wf.body.webhookUrl as string, testWebhookUrl: wf.body.testWebhookUrl as string, created: wf.body };
}
