import { HookflowError } from '../errors/catalogue.js';
import { stringifyExactJson } from '../util/exact-json.js';

/**
 * Templates in step fields: `{{name}}` or `{{name.path.to[0].field}}` (API.md, "Workflow
 * definition"). Rendering only looks values up; it never evaluates code.
 *
 * Path grammar after the variable name, repeated:
 * - `.key` where key is letters, digits, `_`, `$` or `-` (so header names like
 *   `{{orderHeaders.x-github-event}}` work, and `.0` indexes an array);
 * - `[0]` an array index;
 * - `["any key"]` or `['any key']` for keys the dot form cannot spell (no escapes inside).
 *
 * A path step that is not found (missing key, index out of range, or stepping into a string,
 * number, boolean or null) is an error naming the whole path: a silently empty value would send
 * a wrong request instead of failing the step where the mistake is visible — unless the
 * expression names a default: `{{name.path ?? "fallback"}}`, where the default is a JSON literal
 * (string in double quotes, number, true, false or null) used when the value is missing or null.
 */

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Lazy and dotAll so `{{a}} and {{b}}` are two expressions and an expression may span lines.
const EXPRESSION = /\{\{([\s\S]*?)\}\}/g;
const SEGMENT = /^(?:\.([A-Za-z0-9_$-]+)|\[(\d+)\]|\["([^"\\]*)"\]|\['([^'\\]*)'\])/;
const DEFAULT = /^\s*\?\?\s*([\s\S]*?)\s*$/;

interface ParsedExpression {
  /** The memory variable the expression starts from. */
  readonly variable: string;
  /** Property keys (array indexes as decimal strings) walked from the variable. */
  readonly path: readonly string[];
  /** The expression as written between the braces, trimmed; used in error messages. */
  readonly source: string;
  /** The value used when the path is missing or null (`?? <JSON literal>`); absent: none. */
  readonly fallback?: { readonly value: unknown };
}

function invalidExpression(raw: string): HookflowError {
  return new HookflowError('HOOKFLOW_ERR_TEMPLATE', `Invalid template expression "{{${raw}}}"`);
}

function parseExpression(raw: string): ParsedExpression {
  const source = raw.trim();
  const head = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source);
  if (head === null) throw invalidExpression(raw);
  const variable = head[0];
  const path: string[] = [];
  let rest = source.slice(variable.length);
  while (rest.length > 0) {
    const fallback = DEFAULT.exec(rest);
    if (fallback !== null) return { variable, path, source, fallback: { value: parseDefault(fallback[1] ?? '', raw) } };
    const match = SEGMENT.exec(rest);
    if (match === null) throw invalidExpression(raw);
    path.push(match[1] ?? match[2] ?? match[3] ?? match[4] ?? '');
    rest = rest.slice(match[0].length);
  }
  return { variable, path, source };
}

/** A default is a JSON scalar literal: never an expression, so rendering still only looks values up. */
function parseDefault(literal: string, raw: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(literal);
  } catch {
    throw new HookflowError('HOOKFLOW_ERR_TEMPLATE', `Invalid default in "{{${raw}}}": write a JSON literal such as "text", 0, true or null`);
  }
  if (typeof value === 'object' && value !== null) {
    throw new HookflowError('HOOKFLOW_ERR_TEMPLATE', `Invalid default in "{{${raw}}}": write a JSON literal such as "text", 0, true or null`);
  }
  return value;
}

/** Own data properties only: inherited keys (`constructor`, `__proto__`, …) and getters are never read. */
function ownValue(container: unknown, key: string): { found: boolean; value?: unknown } {
  if (typeof container !== 'object' || container === null) return { found: false };
  const descriptor = Object.getOwnPropertyDescriptor(container, key);
  if (descriptor === undefined || !('value' in descriptor) || descriptor.value === undefined) {
    return { found: false };
  }
  return { found: true, value: descriptor.value };
}

function resolve(expression: ParsedExpression, memory: Readonly<Record<string, unknown>>): unknown {
  const { fallback } = expression;
  const root = ownValue(memory, expression.variable);
  if (!root.found) {
    if (fallback !== undefined) return fallback.value;
    throw new HookflowError('HOOKFLOW_ERR_TEMPLATE', `Unknown variable "${expression.variable}"`);
  }
  let current = root.value;
  for (const key of expression.path) {
    const next = ownValue(current, key);
    if (!next.found) {
      if (fallback !== undefined) return fallback.value;
      throw new HookflowError('HOOKFLOW_ERR_TEMPLATE', `Path "${expression.source}" not found`);
    }
    current = next.value;
  }
  return current === null && fallback !== undefined ? fallback.value : current;
}

function toText(value: unknown): string {
  if (typeof value === 'string') return value;
  // Exact: a number beyond 2^53 (a LosslessNumber) renders with the digits received.
  if (typeof value === 'object' && value !== null) return stringifyExactJson(value);
  return String(value);
}

function renderString(template: string, memory: Readonly<Record<string, unknown>>): unknown {
  const matches = [...template.matchAll(EXPRESSION)];
  const only = matches[0];
  if (matches.length === 1 && only !== undefined && only[0] === template) {
    return resolve(parseExpression(only[1] ?? ''), memory);
  }
  return template.replace(EXPRESSION, (_whole, raw: string) => toText(resolve(parseExpression(raw), memory)));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Renders `value` against the run's memory, recursing through strings, arrays and plain
 * objects (object keys are never templated). A string that is exactly one `{{…}}` becomes the
 * referenced value itself, type kept; inside a longer string, objects and arrays render as
 * JSON, strings as themselves, numbers/booleans/null as text. Other values are returned
 * untouched; the input is never mutated.
 *
 * @throws HookflowError HOOKFLOW_ERR_TEMPLATE for an unknown variable (`Unknown variable "x"`),
 *   a path that is not found (`Path "x.a.b" not found`) or a malformed expression.
 */
export function renderTemplate(value: unknown, memory: Readonly<Record<string, unknown>>): unknown {
  if (typeof value === 'string') return renderString(value, memory);
  if (Array.isArray(value)) return value.map((item) => renderTemplate(item, memory));
  if (isPlainObject(value)) {
    // fromEntries defines own properties, so a data key named `__proto__` stays data.
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, renderTemplate(item, memory)]));
  }
  return value;
}

/**
 * Renders a template where only text can go (a URL, a header value, a prompt): as
 * `renderTemplate`, then a non-string result as it would read inside a longer string, so an
 * object or array becomes JSON, never `[object Object]`.
 */
export function renderText(template: string, memory: Readonly<Record<string, unknown>>): string {
  return toText(renderTemplate(template, memory));
}

function collectVariables(value: unknown, names: Set<string>): void {
  if (typeof value === 'string') {
    for (const match of value.matchAll(EXPRESSION)) names.add(parseExpression(match[1] ?? '').variable);
  } else if (Array.isArray(value)) {
    for (const item of value) collectVariables(item, names);
  } else if (isPlainObject(value)) {
    for (const item of Object.values(value)) collectVariables(item, names);
  }
}

/**
 * The memory variable names `value` references, each once, in order of first appearance —
 * for checking a workflow definition before any run (e.g. that each name is produced by the
 * trigger or an earlier step).
 *
 * @throws HookflowError HOOKFLOW_ERR_TEMPLATE for a malformed expression, as rendering would.
 */
export function templateVariables(value: unknown): string[] {
  const names = new Set<string>();
  collectVariables(value, names);
  return [...names];
}

/** One `{{…}}` of a template string, for checks before any run. */
export interface TemplateReference {
  /** The memory variable it starts from. */
  readonly variable: string;
  /** The first key read from it (`secrets.TOKEN` → "TOKEN"), if any. */
  readonly firstKey: string | undefined;
  /** Whether it names a default (`?? …`), so a missing value is not an error. */
  readonly hasDefault: boolean;
  /** 0-based offset of its `{{` in the string. */
  readonly position: number;
}

/**
 * Every `{{…}}` of one template string, in order.
 *
 * @throws HookflowError HOOKFLOW_ERR_TEMPLATE for a malformed expression, with `details.position`.
 */
export function templateReferences(template: string): TemplateReference[] {
  return [...template.matchAll(EXPRESSION)].map((match) => {
    const position = match.index;
    let parsed: ParsedExpression;
    try {
      parsed = parseExpression(match[1] ?? '');
    } catch (thrown) {
      const message = thrown instanceof Error ? thrown.message : String(thrown);
      throw new HookflowError('HOOKFLOW_ERR_TEMPLATE', message, { details: { position }, cause: thrown });
    }
    return { variable: parsed.variable, firstKey: parsed.path[0], hasDefault: parsed.fallback !== undefined, position };
  });
}

/** Whether `name` is a valid memory variable name (`^[A-Za-z_][A-Za-z0-9_]*$`). */
export function isVariableName(name: string): boolean {
  return VARIABLE_NAME.test(name);
}
