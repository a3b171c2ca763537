import type { Logger } from 'pino';
import { createEgressPolicy, type OwnEndpoint } from '../engine/net/address-policy.js';
import { createGuardedHttpClient } from '../engine/net/guarded-fetch.js';
import type { ExpressionCompiler } from '../engine/expressions/cel-engine.js';
import { createRunExecutor, type StepKinds } from '../engine/run-executor.js';
import { createHttpStep } from '../engine/steps/http/http-step.js';
import { createLlmStep } from '../engine/steps/llm/llm-step.js';
import { createRespondStep } from '../engine/steps/respond/respond-step.js';
import { createScriptStep } from '../engine/steps/script/script-step.js';
import { createScriptPool } from '../engine/sandbox/script-pool.js';
import type { RunSteps } from '../queue/worker-pool.js';
import type { Store } from '../store/store.js';
import type { WorkflowService } from '../workflows/workflow-service.js';
import type { WorkspaceSecretService } from '../workflows/workspace-secrets.js';
import type { SecretAccess } from '../engine/secret-scope.js';
import { SECRET_PURPOSE } from '../secrets/secret-purposes.js';
import { createLlmBudget } from './llm-budget.js';
import type { MemoryBudget } from '../util/memory-budget.js';

/** Default cap on an HTTP/LLM step's response body, bytes. */
const DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024;

/** Wires the engine's step kinds to their dependencies (outbound client, script threads, secrets). */
export function createStepRunner(options: {
  /** Answers being read count against it (see guarded-fetch). */
  budget?: MemoryBudget;
  workflows: WorkflowService;
  workspaceSecrets: WorkspaceSecretService;
  /** Where LLM token budgets are counted. */
  store: Store;
  egressAllowlist: readonly string[];
  /** Where this process's server listens, read at each outbound connection (never reachable by steps). */
  ownEndpoints: () => readonly OwnEndpoint[];
  scriptThreads: number;
  /** A script thread idle this long stops, ms. */
  scriptIdleMs?: number;
  /** Deepest JSON nesting a step may bring in (HOOKFLOW_MAX_JSON_DEPTH). */
  maxJsonDepth: number;
  logger: Logger;
  clock?: () => number;
  /** Compiles steps' `if` conditions. */
  expressions: ExpressionCompiler;
}): { runSteps: RunSteps; kinds: StepKinds; secrets: SecretAccess; expressions: ExpressionCompiler; close: () => Promise<void> } {
  const client = createGuardedHttpClient({
    policy: createEgressPolicy({ allowlist: [...options.egressAllowlist], ownEndpoints: options.ownEndpoints }),
    defaultTimeoutMs: 30_000,
    maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES,
    ...(options.budget === undefined ? {} : { budget: options.budget }),
  });
  const secrets: SecretAccess = {
    names: async (workspaceId) => [...(await options.workspaceSecrets.listSecretNames(workspaceId))],
    reveal: (workspaceId, names) => options.workspaceSecrets.reveal(workspaceId, names),
  };
  const pool = createScriptPool({ threads: options.scriptThreads, ...(options.scriptIdleMs === undefined ? {} : { idleMs: options.scriptIdleMs }) });
  const kinds: StepKinds = {
    http: createHttpStep({ client, secrets, maxJsonDepth: options.maxJsonDepth }),
    script: createScriptStep({ pool, maxJsonDepth: options.maxJsonDepth }),
    llm: createLlmStep({
      client,
      secrets,
      maxJsonDepth: options.maxJsonDepth,
      apiKey: (ws, wf, stepId) => options.workflows.readBoundSecret(ws, wf, SECRET_PURPOSE.llmApiKey(stepId)),
      budget: createLlmBudget({ store: options.store, clock: options.clock ?? Date.now }),
    }),
    respond: createRespondStep(),
  };
  const execute = createRunExecutor({ clock: options.clock ?? Date.now, steps: kinds, expressions: options.expressions });
  return {
    runSteps: (claimed, context) => execute(claimed, context),
    kinds,
    secrets,
    expressions: options.expressions,
    close: async () => {
      await pool.close();
      await client.close();
    },
  };
}
