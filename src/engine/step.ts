import type { Reservation } from '../util/memory-budget.js';
import type { StepDefinition } from '../config/workflow-definition.js';

/** What a step kind gets to run one step of one run. */
export interface StepContext {
  /** The run's memory so far (read-only: steps return what they write). */
  memory: Readonly<Record<string, unknown>>;
  workspaceId: string;
  workflowId: string;
  runId: string;
  attempt: number;
  /** Aborted when the run must stop (lease lost, shutdown). */
  signal: AbortSignal;
  /**
   * The run's share of the process-wide memory budget, held until the run ends: answers a step
   * reads are added to it (they stay in the run's memory), so claims wait while runs hold them.
   */
  reservation?: Reservation;
}

/** What a step produced. */
export interface StepOutcome {
  output: unknown;
  /** Extra memory writes besides `output` (a script's `memory.save`). */
  saved?: Record<string, unknown>;
  logs?: string[];
  usage?: Record<string, unknown>;
}

/** One step kind (http, script, llm): a plugin the runner looks up by `type`. */
export interface StepKind<D extends StepDefinition = StepDefinition> {
  readonly type: D['type'];
  run(step: D, context: StepContext): Promise<StepOutcome>;
}

/** Default time limit of a step without `timeoutMs`, ms. */
export const DEFAULT_STEP_TIMEOUT_MS = 30_000;
