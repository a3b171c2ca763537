import { createHash } from 'node:crypto';
import type { ExpressionCompiler } from '../engine/expressions/cel-engine.js';
import { celTypeOf } from '../engine/expressions/conditions.js';
import { toError } from '../errors/catalogue.js';
import { MAX_STORED_KEY_LENGTH } from '../store/claim-order.js';
import { TriggerExpressions } from './trigger-expressions.js';
import type { ResolvedTrigger } from './trigger-registry.js';

/** What the key expression sees: the memory a run starts with (headers, body and `webhook`). */
export interface KeyInput {
  headers: Readonly<Record<string, string>>;
  /** The body as stored (JSON text). */
  bodyJson: string;
  meta: Readonly<Record<string, unknown>>;
}

/** The key a run is ordered under, and why it is the fallback key when the expression failed. */
export interface KeyVerdict {
  key: string;
  error?: string;
}

/**
 * `concurrency.key` at ingest. A key that cannot be computed (a field missing from this payload,
 * a value that is not a string or number) is the empty key `""`: such runs are ordered among
 * themselves rather than not at all, and the event's `webhook.concurrencyKeyError` says why.
 */
export class ConcurrencyKeys {
  private readonly expressions: TriggerExpressions;

  constructor(compiler: ExpressionCompiler) {
    this.expressions = new TriggerExpressions(compiler);
  }

  keyFor(trigger: ResolvedTrigger, input: KeyInput): KeyVerdict | undefined {
    const source = trigger.concurrencyKey;
    if (source === undefined) return undefined;
    const compiled = this.expressions.compiledFor(trigger, source);
    if (compiled instanceof Error) return { key: '', error: compiled.message };
    const memory: Record<string, unknown> = { webhook: input.meta };
    try {
      if (trigger.trigger.headerMemory !== undefined) memory[trigger.trigger.headerMemory] = input.headers;
      if (trigger.trigger.bodyMemory !== undefined) memory[trigger.trigger.bodyMemory] = JSON.parse(input.bodyJson) as unknown;
      const value = compiled.evaluate(memory);
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'bigint') {
        return { key: '', error: `The concurrency key must be a string or a number, got ${celTypeOf(value)}` };
      }
      return { key: storedKey(String(value)) };
    } catch (thrown) {
      return { key: '', error: toError(thrown).message };
    }
  }
}

/** Long keys are stored as their SHA-256 (hex), so equal keys stay equal and the index stays small. */
function storedKey(key: string): string {
  return key.length <= MAX_STORED_KEY_LENGTH ? key : `sha256:${createHash('sha256').update(key).digest('hex')}`;
}
