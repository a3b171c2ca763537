import type { CompiledExpression, ExpressionCompiler } from './cel-engine.js';
import { expressionError } from './cel-engine.js';

/** The CEL type name of a JSON-ish value, for "must be a boolean, got …" messages. */
export function celTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'number') return 'double';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'bool';
  if (Array.isArray(value)) return 'list';
  if (value instanceof Uint8Array) return 'bytes';
  return typeof value === 'object' ? 'map' : typeof value;
}

/**
 * Evaluates a compiled condition and requires a boolean: a condition that yields anything else
 * is a mistake in the workflow, never silently truthy.
 *
 * @throws HookflowError HOOKFLOW_ERR_EXPRESSION naming what it got.
 */
export function evaluateBoolean(compiled: CompiledExpression, variables: Readonly<Record<string, unknown>>, what: string): boolean {
  const value = compiled.evaluate(variables);
  if (typeof value !== 'boolean') throw expressionError(`${what} must be a boolean, got ${celTypeOf(value)}`, 0);
  return value;
}

/** A step's `if` against the run's memory (variables by name, `webhook` included). */
export function evaluateCondition(compiler: ExpressionCompiler, source: string, memory: Readonly<Record<string, unknown>>): boolean {
  return evaluateBoolean(compiler.compileCached(source), memory, 'The condition ("if")');
}
