import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp, type TestApp } from './helpers/app.js';
import { startLoopbackServer } from './helpers/loopback.js';
import { waitForRun } from './helpers/runs.js';

/*
 * An LLM call is paid for once it is answered. When recording its token usage then fails (the
 * database refuses the write), the step still succeeds with the answer it paid for: a failed
 * bookkeeping write must not fail the step and make the retry pay for the same call again.
 * The failure is real: a trigger in the SQLite file refuses every write to llm_usage.
 */
let test: TestApp;
let llm: Awaited<ReturnType<typeof startLoopbackServer>>;

beforeAll(async () => {
  llm = await startLoopbackServer((_request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ choices: [{ message: { content: 'paid answer' } }], usage: { total_tokens: 42 } }));
  });
  test = await startTestApp({ env: { HOOKFLOW_WORKER_CONCURRENCY: '1', HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8', HOOKFLOW_MAX_ATTEMPTS: '3', HOOKFLOW_RETRY_BASE_MS: '10' } });
});
afterAll(async () => {
  await test.stop();
  await llm.close();
});

describe('LLM usage write failure', () => {
  it('the step keeps its paid answer, the call is made once, and the step log says the usage was not recorded', async () => {
    const { workspaceId, webhookUrl } = await createWorkflow(test, {
      name: 'paid', trigger: { type: 'webhook' }, llmBudget: { tokensPerDay: 1_000_000 },
      steps: [{ id: 'ask', type: 'llm', baseUrl: `${llm.url}/v1`, model: 'm', apiKey: 'sk-usage-test-key', prompt: 'hi', output: 'answer' }],
    });
    const db = new Database(join(test.dataDir, 'hookflow.db'));
    try {
      db.pragma('busy_timeout = 10000');
      db.exec(`CREATE TRIGGER refuse_usage_insert BEFORE INSERT ON llm_usage BEGIN SELECT RAISE(FAIL, 'usage writes refused by the test'); END;
               CREATE TRIGGER refuse_usage_update BEFORE UPDATE ON llm_usage BEGIN SELECT RAISE(FAIL, 'usage writes refused by the test'); END;`);
    } finally {
      db.close();
    }
    const accepted = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const { run_id: runId } = (await accepted.json()) as { run_id: string };
    const run = await waitForRun(test, workspaceId, runId);
    expect(llm.received).toHaveLength(1);
    expect(run.status).toBe('succeeded');
    const step = (await test.api('GET', `/api/workspaces/${workspaceId}/runs/${runId}`)).body.steps[0];
    expect(step.output).toBe('paid answer');
    expect(JSON.stringify(step.logs)).toContain('token usage was not recorded');
  });
});
