import type { ExpressionCompiler } from '../engine/expressions/cel-engine.js';
import { evaluateBoolean } from '../engine/expressions/conditions.js';
import { toError } from '../errors/catalogue.js';
import { parseExactJson } from '../util/exact-json.js';
import { TriggerExpressions } from './trigger-expressions.js';
import type { ResolvedTrigger } from './trigger-registry.js';

/** What a filter sees of a call: the stored headers, the parsed body, the query without the key. */
export interface FilterInput {
  headers: Readonly<Record<string, string>>;
  /** The body as stored (JSON text); parsed only when a filter needs it. */
  bodyJson: string;
  query: Readonly<Record<string, unknown>>;
}

/** The filter's verdict on one call. `error` says why a failing filter counted as "no match". */
export type FilterVerdict = { matched: true } | { matched: false; error?: string };

const MATCHED: FilterVerdict = Object.freeze({ matched: true });

/**
 * `trigger.filter` at ingest, compiled once per resolved trigger, evaluated per call. A filter that
 * fails to compile or evaluate (a key missing from this payload, say) does not match: the call is
 * stored as filtered with the reason, visible in the events list, and starts no run.
 */
export class TriggerFilters {
  private readonly expressions: TriggerExpressions;

  constructor(compiler: ExpressionCompiler) {
    this.expressions = new TriggerExpressions(compiler);
  }

  judge(trigger: ResolvedTrigger, input: FilterInput): FilterVerdict {
    const source = trigger.trigger.filter;
    if (source === undefined) return MATCHED;
    const compiled = this.expressions.compiledFor(trigger, source);
    if (compiled instanceof Error) return { matched: false, error: compiled.message };
    try {
      const matched = evaluateBoolean(compiled, { headers: input.headers, body: parseExactJson(input.bodyJson), query: input.query }, 'The filter');
      return matched ? MATCHED : { matched: false };
    } catch (thrown) {
      return { matched: false, error: toError(thrown).message };
    }
  }
}
