import type { CompiledExpression, ExpressionCompiler } from '../engine/expressions/cel-engine.js';
import { toError } from '../errors/catalogue.js';
import type { ResolvedTrigger } from './trigger-registry.js';

/**
 * One CEL expression of a trigger (its filter, its concurrency key), compiled once per resolved
 * trigger: the registry's cached object, so an update or a TTL reload compiles the new version.
 * An expression that does not compile is kept as its Error, so each call reports it cheaply.
 */
export class TriggerExpressions {
  private readonly compiled = new WeakMap<ResolvedTrigger, CompiledExpression | Error>();

  constructor(private readonly compiler: ExpressionCompiler) {}

  compiledFor(trigger: ResolvedTrigger, source: string): CompiledExpression | Error {
    let compiled = this.compiled.get(trigger);
    if (compiled === undefined) {
      try {
        compiled = this.compiler.compile(source);
      } catch (thrown) {
        compiled = toError(thrown);
      }
      this.compiled.set(trigger, compiled);
    }
    return compiled;
  }
}
