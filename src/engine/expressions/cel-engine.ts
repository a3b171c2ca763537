import { Environment, type ASTNode } from '@marcbachmann/cel-js';
import { HookflowError } from '../../errors/catalogue.js';
import { forExpression } from '../../util/exact-json.js';
import { freeVariables, forbiddenCall, type VariableUse } from './expression-ast.js';

/**
 * CEL (the Common Expression Language) for step conditions and trigger filters, through
 * `@marcbachmann/cel-js` (README: "Expressions" says why). Expressions are parsed and type-checked
 * once, then evaluated against plain JSON values. Nothing here uses eval, `new Function` or
 * node:vm: the library walks its own syntax tree.
 */

/** How far one expression may go. Every value comes from the server config (README table). */
export interface ExpressionLimits {
  /** Longest expression source accepted, characters. */
  readonly maxLength: number;
  /** Deepest nesting of the syntax tree (parentheses, member chains, calls). */
  readonly maxDepth: number;
  /** Most syntax-tree nodes in one expression. */
  readonly maxNodes: number;
  /**
   * Work units one evaluation may spend: 1 per evaluated node, plus 1 per list element and per
   * 64 characters of each list or string a node produces. Bounds comprehensions over big lists
   * and values that double in size, deterministically.
   */
  readonly maxCost: number;
  /** Wall-clock backstop per evaluation, ms (checked every 256 units of work). */
  readonly timeoutMs: number;
}

/** Defaults of `ExpressionLimits` (each has a `HOOKFLOW_EXPRESSION_*` env var). */
export const DEFAULT_EXPRESSION_LIMITS: ExpressionLimits = Object.freeze({
  maxLength: 4096,
  maxDepth: 32,
  maxNodes: 1000,
  maxCost: 200_000,
  timeoutMs: 100,
});

/** Where in its source an expression failed, for save-time answers and step errors. */
export interface ExpressionErrorDetails {
  /** 0-based character offset into the expression. */
  readonly position: number;
  /** What went wrong, without the position. */
  readonly reason: string;
}

/** A parsed, checked expression, ready to evaluate many times. */
export interface CompiledExpression {
  readonly source: string;
  /** The root variables it reads (free identifiers), each with its first position. */
  readonly variables: readonly VariableUse[];
  /** The result type known before evaluation: `bool`, `string`, `int`, … or `dyn` when it depends on data. */
  readonly type: string;
  /** Evaluates against `variables` (JSON values by name); bounded by the limits. */
  evaluate(variables: Readonly<Record<string, unknown>>): unknown;
}

/** Raised for a bad or failing expression; `details` carries the position. */
export function expressionError(reason: string, position: number, cause?: unknown): HookflowError {
  const details: ExpressionErrorDetails = { position, reason };
  return new HookflowError('HOOKFLOW_ERR_EXPRESSION', `${reason} (at position ${position})`, { details, cause });
}

/** The details of an error raised by `expressionError`, if it is one. */
export function expressionErrorDetails(error: unknown): ExpressionErrorDetails | undefined {
  if (!(error instanceof HookflowError) || error.code !== 'HOOKFLOW_ERR_EXPRESSION') return undefined;
  const details = error.details;
  if (typeof details !== 'object' || details === null || !('position' in details) || !('reason' in details)) return undefined;
  const { position, reason } = details;
  return typeof position === 'number' && typeof reason === 'string' ? { position, reason } : undefined;
}

/** Compiled expressions kept by `compileCached`; beyond it the cache starts over. */
const MAX_CACHED = 1000;

interface Budget {
  remaining: number;
  readonly deadline: number;
  readonly limits: ExpressionLimits;
  /**
   * Set once the budget is spent, then thrown again at every further node: `all`/`exists` catch
   * errors of single elements (CEL's error semantics) and move on to the next, so the loops still
   * unwind element by element — rethrowing one error keeps that cheap (no new stack trace each).
   */
  exceeded?: HookflowError;
}

/** The library's evaluator: `run` is called for every node it evaluates (also each comprehension step). */
interface NodeRunner {
  run(ast: unknown, context: unknown): unknown;
}

interface LibraryError {
  message: string;
  range?: { start: number };
  node?: { pos?: number };
}

function libraryErrorParts(thrown: unknown): { reason: string; position: number } {
  const error = thrown as LibraryError;
  // The library appends a source excerpt with a caret after a blank line; the position says it.
  const reason = String(error.message ?? thrown).split('\n')[0] ?? 'Invalid expression';
  return { reason, position: error.range?.start ?? error.node?.pos ?? 0 };
}

/**
 * Compiles CEL expressions under one set of limits. Evaluation is synchronous (no async functions
 * are registered), so one active budget per compiler is enough.
 */
export class ExpressionCompiler {
  private readonly environment: Environment;
  private budget: Budget | null = null;
  private readonly cache = new Map<string, CompiledExpression>();

  constructor(readonly limits: ExpressionLimits = DEFAULT_EXPRESSION_LIMITS) {
    this.environment = new Environment({
      // Memory variables are JSON of any shape: their type is known only at run time.
      unlistedVariablesAreDyn: true,
      // JSON lists mix types freely; literals may too.
      homogeneousAggregateLiterals: false,
      limits: { maxAstNodes: limits.maxNodes, maxDepth: limits.maxDepth, maxListElements: 1000, maxMapEntries: 1000, maxCallArguments: 32 },
    });
    this.installBudget();
  }

  /**
   * Parses and type-checks `source`.
   * @throws HookflowError HOOKFLOW_ERR_EXPRESSION with `{position, reason}` details.
   */
  compile(source: string): CompiledExpression {
    if (source.length > this.limits.maxLength) {
      throw expressionError(`Expression is ${source.length} characters long; the limit is ${this.limits.maxLength} (HOOKFLOW_EXPRESSION_MAX_LENGTH)`, this.limits.maxLength);
    }
    let parsed: ReturnType<Environment['parse']>;
    try {
      parsed = this.environment.parse(source);
    } catch (thrown) {
      const { reason, position } = libraryErrorParts(thrown);
      throw expressionError(reason.replace(/^Exceeded (\w+)/, (_all, key: string) => `Expression too complex: exceeded ${key}`), position, thrown);
    }
    const ast = parsed.ast as ASTNode;
    const forbidden = forbiddenCall(ast, source);
    if (forbidden !== undefined) throw expressionError(forbidden.reason, forbidden.position);
    const checked = parsed.check();
    if (!checked.valid) {
      const { reason, position } = libraryErrorParts(checked.error);
      throw expressionError(reason, position, checked.error);
    }
    const type = checked.type ?? 'dyn';
    const variables = freeVariables(ast);
    const names = variables.map((use) => use.name);
    return {
      source,
      variables,
      type,
      evaluate: (values) => this.evaluateBounded(parsed, values, names),
    };
  }

  /** As `compile`, remembering the last 1,000 distinct sources (conditions of running workflows). */
  compileCached(source: string): CompiledExpression {
    let compiled = this.cache.get(source);
    if (compiled === undefined) {
      compiled = this.compile(source);
      if (this.cache.size >= MAX_CACHED) this.cache.clear();
      this.cache.set(source, compiled);
    }
    return compiled;
  }

  /** Evaluates with the cost budget; the variables it reads (`names`) are seen with exact numbers (see forExpression). */
  private evaluateBounded(parsed: (context: Record<string, unknown>) => unknown, variables: Readonly<Record<string, unknown>>, names: readonly string[]): unknown {
    const outer = this.budget;
    this.budget = { remaining: this.limits.maxCost, deadline: performance.now() + this.limits.timeoutMs, limits: this.limits };
    try {
      const context: Record<string, unknown> = { ...variables };
      for (const name of names) if (Object.hasOwn(context, name)) context[name] = forExpression(context[name]);
      const result = parsed(context);
      if (result instanceof Promise) throw expressionError('Expression did not finish synchronously', 0);
      return result;
    } catch (thrown) {
      if (thrown instanceof HookflowError) throw thrown;
      const { reason, position } = libraryErrorParts(thrown);
      throw expressionError(reason, position, thrown);
    } finally {
      this.budget = outer;
    }
  }

  /**
   * The library has no cost limit of its own, so every node evaluation is counted here. It calls
   * registered functions with its evaluator as `this`; a probe captures that evaluator once and
   * its `run` (through which every node, and every step of a comprehension, is evaluated) is
   * wrapped. The library's version is pinned exactly; expression-limits tests fail if this stops
   * holding.
   */
  private installBudget(): void {
    let captured: NodeRunner | undefined;
    this.environment.registerFunction('hookflowProbe(): bool', function (this: NodeRunner) {
      captured = this;
      return true;
    });
    this.environment.evaluate('hookflowProbe()', {});
    if (captured === undefined || typeof captured.run !== 'function') throw new Error('CEL evaluator not found: the cost budget cannot be installed');
    const evaluator = captured;
    const run = evaluator.run.bind(evaluator);
    evaluator.run = (ast, context) => {
      const budget = this.budget;
      if (budget !== null) spend(budget, 1, ast);
      const result = run(ast, context);
      if (budget !== null) {
        if (typeof result === 'string') spend(budget, result.length >> 6, ast);
        else if (Array.isArray(result)) spend(budget, result.length, ast);
      }
      return result;
    };
  }
}

function spend(budget: Budget, units: number, ast: unknown): void {
  if (budget.exceeded !== undefined) throw budget.exceeded;
  const before = budget.remaining;
  budget.remaining -= units;
  if (budget.remaining < 0) {
    budget.exceeded = expressionError(`Expression exceeded its cost limit of ${budget.limits.maxCost} (HOOKFLOW_EXPRESSION_MAX_COST)`, positionOf(ast));
    throw budget.exceeded;
  }
  // Checking the clock at every node would cost more than the nodes; every 256 units is enough.
  if (before >> 8 !== budget.remaining >> 8 && performance.now() > budget.deadline) {
    budget.exceeded = expressionError(`Expression exceeded its time limit of ${budget.limits.timeoutMs} ms (HOOKFLOW_EXPRESSION_TIMEOUT_MS)`, positionOf(ast));
    throw budget.exceeded;
  }
}

function positionOf(ast: unknown): number {
  return (ast as { pos?: number }).pos ?? 0;
}
