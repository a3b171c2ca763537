import type { StepDefinition, WorkflowDefinition } from '../../config/workflow-definition.js';
import { isHookflowError } from '../../errors/catalogue.js';
import { checkScriptSyntax, type ScriptSyntaxError } from '../sandbox/script-syntax.js';
import { templateReferences } from '../templates.js';
import { expressionErrorDetails, type CompiledExpression, type ExpressionCompiler } from './cel-engine.js';
import { didYouMean } from './suggestions.js';

/**
 * Checks at save time (create and update): every template and CEL expression parses, every
 * script compiles, and every variable read can exist when its step runs. Findings name the step,
 * the field and the position; `errors` refuse the save (400), `warnings` are returned with it.
 */

/** One finding about a definition. */
export interface DefinitionFinding {
  /** The step's id, or null for the trigger. */
  readonly step: string | null;
  /** The field as a path from the definition's root (`steps.1.if`, `steps.0.headers.authorization`). */
  readonly field: string;
  /** Where in the field: `position 12` (0-based character offset) or `line 3, column 5`. */
  readonly position: string;
  readonly message: string;
}

export interface DefinitionCheckResult {
  readonly errors: DefinitionFinding[];
  readonly warnings: DefinitionFinding[];
}

export interface DefinitionCheckOptions {
  expressions: ExpressionCompiler;
  /** Names of the workspace's secrets; `{{secrets.NAME}}` must name one of them. Default: none. */
  knownSecrets?: ReadonlySet<string>;
  /** Compiles a script without running it; default QuickJS (`checkScriptSyntax`). */
  checkScript?: (code: string) => Promise<ScriptSyntaxError | undefined>;
}

/** The root name of workspace secrets in templates; never a memory variable. */
export const SECRETS_ROOT = 'secrets';
/** The memory variable with the request's metadata. */
const WEBHOOK_ROOT = 'webhook';
/** What a trigger filter sees. */
const FILTER_VARIABLES = ['headers', 'body', 'query'] as const;
/** Literal names a script saves: `memory.save("name", …)`. */
const LITERAL_SAVE = /memory\s*\.\s*save\s*\(\s*(["'`])([A-Za-z_][A-Za-z0-9_]*)\1/g;
/** Any save, to notice names chosen at run time. */
const ANY_SAVE = /memory\s*\.\s*save\s*\(/g;

/** `steps.1.if (step "notify", position 12): message` — one line of a 400's details. */
export function formatFinding(finding: DefinitionFinding): string {
  const owner = finding.step === null ? '' : `step "${finding.step}", `;
  return `${finding.field} (${owner}${finding.position}): ${finding.message}`;
}

interface Scope {
  /** Names the trigger or an earlier step's `output` defines. */
  readonly known: Set<string>;
  /** Names only an earlier script's literal `memory.save` creates, with that step's id. */
  readonly saved: Map<string, string>;
  /** Ids of earlier scripts that save names chosen at run time. */
  readonly dynamicSavers: string[];
  /** Every step's `output`, with its index: to say "defined only by a later step". */
  readonly outputs: Map<string, number>;
}

/** Checks `definition`; never throws for a bad definition (findings say what is wrong). */
export async function checkDefinition(definition: WorkflowDefinition, options: DefinitionCheckOptions): Promise<DefinitionCheckResult> {
  const result: DefinitionCheckResult = { errors: [], warnings: [] };
  const knownSecrets = options.knownSecrets ?? new Set<string>();
  const checkScript = options.checkScript ?? checkScriptSyntax;
  const { trigger } = definition;

  if (trigger.filter !== undefined) checkFilter(trigger.filter, options.expressions, trigger, result);
  if (definition.concurrency !== undefined) checkConcurrencyKey(definition.concurrency.key, options.expressions, trigger, result);

  const scope: Scope = { known: new Set([WEBHOOK_ROOT]), saved: new Map(), dynamicSavers: [], outputs: new Map() };
  if (trigger.headerMemory !== undefined) scope.known.add(trigger.headerMemory);
  if (trigger.bodyMemory !== undefined) scope.known.add(trigger.bodyMemory);
  definition.steps.forEach((step, index) => {
    if (step.output !== undefined && !scope.outputs.has(step.output)) scope.outputs.set(step.output, index);
  });

  for (const [index, step] of definition.steps.entries()) {
    const at = (field: string, position: string) => ({ step: step.id, field: `steps.${index}.${field}`, position });
    const reads = { definition, scope, index, knownSecrets, result };
    if (step.if !== undefined) {
      const compiled = compileInto(step.if, options.expressions, at('if', ''), result);
      if (compiled !== undefined) {
        requireBoolean(compiled, at('if', 'position 0'), 'A step condition ("if")', result);
        for (const use of compiled.variables) checkVariable(use.name, use.field, at('if', `position ${use.position}`), 'expression', reads);
      }
    }
    for (const [field, template] of templateFields(step)) {
      let references: ReturnType<typeof templateReferences>;
      try {
        references = templateReferences(template);
      } catch (thrown) {
        const position = isHookflowError(thrown) ? (thrown.details as { position?: number } | undefined)?.position ?? 0 : 0;
        result.errors.push({ ...at(field, `position ${position}`), message: thrown instanceof Error ? thrown.message : String(thrown) });
        continue;
      }
      for (const reference of references) {
        checkVariable(reference.variable, reference.firstKey, at(field, `position ${reference.position}`), 'template', reads);
      }
    }
    if (step.type === 'script') {
      const syntax = await checkScript(step.code);
      if (syntax !== undefined) result.errors.push({ ...at('code', `line ${syntax.line}, column ${syntax.column}`), message: syntax.message });
      const literal = [...step.code.matchAll(LITERAL_SAVE)].map((match) => match[2] ?? '');
      for (const name of literal) if (!scope.saved.has(name)) scope.saved.set(name, step.id);
      if ([...step.code.matchAll(ANY_SAVE)].length > literal.length) scope.dynamicSavers.push(step.id);
    }
    if (step.output !== undefined) scope.known.add(step.output);
  }
  return result;
}

function compileInto(source: string, compiler: ExpressionCompiler, where: Omit<DefinitionFinding, 'message'>, result: DefinitionCheckResult): CompiledExpression | undefined {
  try {
    return compiler.compile(source);
  } catch (thrown) {
    const details = expressionErrorDetails(thrown);
    result.errors.push({ ...where, position: `position ${details?.position ?? 0}`, message: details?.reason ?? String(thrown) });
    return undefined;
  }
}

/** A result type that can never be a boolean is an error now rather than at every run. */
function requireBoolean(compiled: CompiledExpression, where: Omit<DefinitionFinding, 'message'>, what: string, result: DefinitionCheckResult): void {
  if (compiled.type !== 'bool' && compiled.type !== 'dyn') {
    result.errors.push({ ...where, message: `${what} must be a boolean expression; this one is always a ${compiled.type}` });
  }
}

function checkFilter(source: string, compiler: ExpressionCompiler, trigger: WorkflowDefinition['trigger'], result: DefinitionCheckResult): void {
  const where = { step: null, field: 'trigger.filter', position: '' };
  const compiled = compileInto(source, compiler, where, result);
  if (compiled === undefined) return;
  requireBoolean(compiled, { ...where, position: 'position 0' }, 'The trigger filter', result);
  for (const use of compiled.variables) {
    if ((FILTER_VARIABLES as readonly string[]).includes(use.name)) continue;
    const memoryName = use.name === trigger.headerMemory ? 'headers' : use.name === trigger.bodyMemory ? 'body' : undefined;
    const hint = memoryName !== undefined ? `; a filter runs before any memory exists: write "${memoryName}"` : didYouMean(use.name, FILTER_VARIABLES);
    result.errors.push({ ...where, position: `position ${use.position}`, message: `Unknown variable "${use.name}" (a filter sees headers, body and query)${hint}` });
  }
}

/** The concurrency key is computed at ingest, from the memory a run starts with (no step has run). */
function checkConcurrencyKey(source: string, compiler: ExpressionCompiler, trigger: WorkflowDefinition['trigger'], result: DefinitionCheckResult): void {
  const where = { step: null, field: 'concurrency.key', position: '' };
  const compiled = compileInto(source, compiler, where, result);
  if (compiled === undefined) return;
  const known = [WEBHOOK_ROOT, trigger.headerMemory, trigger.bodyMemory].filter((name): name is string => name !== undefined);
  for (const use of compiled.variables) {
    if (known.includes(use.name)) continue;
    result.errors.push({
      ...where, position: `position ${use.position}`,
      message: `Unknown variable "${use.name}" (the key sees only the trigger's memory: ${known.join(', ')})${didYouMean(use.name, known)}`,
    });
  }
}

interface Reads {
  definition: WorkflowDefinition;
  scope: Scope;
  index: number;
  knownSecrets: ReadonlySet<string>;
  result: DefinitionCheckResult;
}

function checkVariable(name: string, firstKey: string | undefined, where: Omit<DefinitionFinding, 'message'>, kind: 'expression' | 'template', reads: Reads): void {
  const { scope, result } = reads;
  if (name === SECRETS_ROOT) {
    checkSecret(firstKey, where, kind, reads);
    return;
  }
  if (scope.known.has(name)) return;
  const savedBy = scope.saved.get(name);
  if (savedBy !== undefined) {
    result.warnings.push({ ...where, message: `"${name}" exists only if step "${savedBy}" saved it with memory.save; nothing else defines it` });
    return;
  }
  const later = scope.outputs.get(name);
  if (later !== undefined) {
    const message = later === reads.index ? `"${name}" is this step's own output: it does not exist until the step has run` : `"${name}" is the output of a later step (steps.${later}): it does not exist yet when this step runs`;
    result.errors.push({ ...where, message });
    return;
  }
  if (scope.dynamicSavers.length > 0) {
    result.warnings.push({ ...where, message: `"${name}" is not defined by the trigger or an earlier step's output; it exists only if step "${scope.dynamicSavers[0] ?? ''}" saves it with memory.save` });
    return;
  }
  result.errors.push({ ...where, message: `Unknown variable "${name}"${didYouMean(name, [...scope.known, ...scope.saved.keys()])}${missingMemoryHint(name, reads.definition)}` });
}

function checkSecret(secret: string | undefined, where: Omit<DefinitionFinding, 'message'>, kind: 'expression' | 'template', reads: Reads): void {
  if (kind === 'expression') {
    // A condition on a secret would leak it bit by bit through which steps ran.
    reads.result.errors.push({ ...where, message: 'secrets cannot be read in expressions; use {{secrets.NAME}} in an HTTP or LLM step field' });
    return;
  }
  if (secret === undefined) {
    reads.result.errors.push({ ...where, message: 'write {{secrets.NAME}} with the name of a workspace secret' });
    return;
  }
  if (reads.knownSecrets.has(secret)) return;
  reads.result.errors.push({ ...where, message: `Unknown secret "${secret}"${didYouMean(secret, reads.knownSecrets)}` });
}

/** A name a user writes for the request while the trigger puts it in no variable. */
function missingMemoryHint(name: string, definition: WorkflowDefinition): string {
  const { headerMemory, bodyMemory } = definition.trigger;
  if (bodyMemory === undefined && /body|payload|data|request/i.test(name) && !/header/i.test(name)) {
    return '; trigger.bodyMemory is not set, so the request body is in no variable (set "bodyMemory": "' + name + '")';
  }
  if (headerMemory === undefined && /header/i.test(name)) {
    return '; trigger.headerMemory is not set, so the request headers are in no variable (set "headerMemory": "' + name + '")';
  }
  return '';
}

/** The template fields of a step, as `[path from the step, template string]`. */
function templateFields(step: StepDefinition): [string, string][] {
  switch (step.type) {
    case 'http': {
      const fields: [string, string][] = [['url', step.url]];
      for (const [name, value] of Object.entries(step.headers ?? {})) fields.push([`headers.${name}`, value]);
      collectStrings(step.body, 'body', fields);
      return fields;
    }
    case 'llm':
      return step.system === undefined ? [['prompt', step.prompt]] : [['system', step.system], ['prompt', step.prompt]];
    case 'respond': {
      const fields: [string, string][] = typeof step.status === 'string' ? [['status', step.status]] : [];
      for (const [name, value] of Object.entries(step.headers ?? {})) fields.push([`headers.${name}`, value]);
      collectStrings(step.body, 'body', fields);
      return fields;
    }
    case 'script':
      return [];
  }
}

function collectStrings(value: unknown, path: string, into: [string, string][]): void {
  if (typeof value === 'string') into.push([path, value]);
  else if (Array.isArray(value)) value.forEach((item, index) => collectStrings(item, `${path}.${index}`, into));
  else if (typeof value === 'object' && value !== null) for (const [key, item] of Object.entries(value)) collectStrings(item, `${path}.${key}`, into);
}
