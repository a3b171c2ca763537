import { z } from 'zod';
import { RESOURCE_ID } from '../config/workflow-definition.js';
import { HookflowError } from '../errors/catalogue.js';
import type { AlertRuleKind } from '../store/alert-store.js';

/*
 * What a rule may say, per kind. Every parameter has a default, so `{"kind": "dead_letters"}`
 * is a whole rule. A rule fires when its measured value is at or above its threshold (for
 * `silence`: when the time since the last real event is at or above the expected silence).
 */

const minutes = (fallback: number) => z.number().int().min(1).max(7 * 24 * 60).default(fallback);
const count = (fallback: number) => z.number().int().min(1).max(1_000_000).default(fallback);

/** Parameters of each kind (docs/observability.md, "Built-in alerts"). */
export const RULE_PARAMS = {
  /** Failed ÷ finished runs of the window, over at least `minRuns` finished runs. */
  run_failure_rate: z.object({ windowMinutes: minutes(15), threshold: z.number().gt(0).max(1).default(0.2), minRuns: count(5) }).strict(),
  /** Runs that used up their attempts in the window. */
  dead_letters: z.object({ windowMinutes: minutes(10), threshold: count(1) }).strict(),
  /** Calls refused for a missing or wrong key or signature in the window (suspicious activity). */
  invalid_auth: z.object({ windowMinutes: minutes(5), threshold: count(20) }).strict(),
  /** Calls answered 429 (trigger or source-IP rate limit) in the window. */
  rate_limited: z.object({ windowMinutes: minutes(5), threshold: count(50) }).strict(),
  /** Seconds the oldest due queued run has waited. */
  queue_lag: z.object({ thresholdSeconds: z.number().int().min(1).max(7 * 86_400).default(60) }).strict(),
  /**
   * No real event for `silenceMinutes` (configured), or — without it — for longer than the
   * expectation learned from the workflow's latest events (see silence.ts). A workflow with
   * fewer than `minEvents` events never fires.
   */
  silence: z.object({
    silenceMinutes: z.number().int().min(1).max(7 * 24 * 60).optional(),
    minEvents: z.number().int().min(2).max(500).default(10),
    minSilenceMinutes: minutes(5),
  }).strict(),
} as const satisfies Record<AlertRuleKind, z.ZodType>;

export type RuleParams<K extends AlertRuleKind> = z.output<(typeof RULE_PARAMS)[K]>;

const ruleKind = z.enum(Object.keys(RULE_PARAMS) as [AlertRuleKind, ...AlertRuleKind[]]);
const id = z.string().regex(RESOURCE_ID, 'must be 1-64 characters of A-Z a-z 0-9 _ - (not starting with _ or -)');

/** `POST …/alert-rules`. */
export const createRuleBody = z.object({
  name: z.string().min(1).max(200),
  kind: ruleKind,
  /** The workflow watched; absent or null: the whole workspace (not for `silence`). */
  workflowId: id.nullable().default(null),
  params: z.record(z.string(), z.unknown()).default({}),
  channelIds: z.array(id).max(20).default([]),
  enabled: z.boolean().default(true),
}).strict();

/** `PATCH …/alert-rules/:id`: any of these; `params` replaces the rule's params as a whole. */
export const patchRuleBody = z.object({
  name: z.string().min(1).max(200).optional(),
  params: z.record(z.string(), z.unknown()).optional(),
  channelIds: z.array(id).max(20).optional(),
  enabled: z.boolean().optional(),
}).strict();

/** Parses a body with `schema`; a bad one is a 400 naming the fields. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) {
    throw new HookflowError('HOOKFLOW_ERR_VALIDATION', 'Invalid request body', { details: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) });
  }
  return parsed.data;
}

/** The kind's parameters with defaults filled in; 400 naming each bad one. */
export function parseRuleParams(kind: AlertRuleKind, params: unknown): Record<string, unknown> {
  const parsed = RULE_PARAMS[kind].safeParse(params ?? {});
  if (!parsed.success) {
    throw new HookflowError('HOOKFLOW_ERR_VALIDATION', 'Invalid rule params', { details: parsed.error.issues.map((i) => `params.${i.path.join('.')}: ${i.message}`) });
  }
  return parsed.data as Record<string, unknown>;
}

/** A rule's stored params, read back with the kind's schema (defaults added by later versions too). */
export function ruleParams<K extends AlertRuleKind>(kind: K, params: unknown): RuleParams<K> {
  return RULE_PARAMS[kind].parse(params) as RuleParams<K>;
}
