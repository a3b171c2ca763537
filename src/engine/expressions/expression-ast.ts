/**
 * Reading a parsed CEL syntax tree (as `@marcbachmann/cel-js` builds it, before macro expansion):
 * which root variables an expression reads, and which calls hookflow refuses.
 */

/** One root variable an expression or template reads. */
export interface VariableUse {
  readonly name: string;
  /** 0-based character offset of its first use. */
  readonly position: number;
  /** The first field read from it (`secrets.TOKEN` → "TOKEN"), when written with a dot. */
  readonly field?: string;
}

interface Node {
  readonly op: string;
  readonly args: unknown;
  readonly pos: number;
}

const isNode = (value: unknown): value is Node =>
  typeof value === 'object' && value !== null && 'op' in value && typeof (value as { op: unknown }).op === 'string' && 'args' in value;

/** Macros whose first argument declares an iteration variable for the arguments after it. */
const BINDING_MACROS = new Set(['map', 'filter', 'all', 'exists', 'exists_one']);

/**
 * `matches` runs a JavaScript regular expression in this library, which can backtrack for
 * exponential time (ReDoS) — unlike RE2, which CEL specifies. It is refused rather than risked.
 */
const FORBIDDEN_FUNCTIONS: ReadonlyMap<string, string> = new Map([
  ['matches', '"matches" is not available (its regular expressions are not linear-time); use contains, startsWith, endsWith or =='],
]);

/**
 * The first call hookflow refuses, with why and where (the function's name in `source`, which a
 * method call's node does not locate: it starts at the receiver); undefined when there is none.
 */
export function forbiddenCall(root: unknown, source: string): { reason: string; position: number } | undefined {
  let found: { reason: string; position: number } | undefined;
  walk(root, new Set(), (node) => {
    if (found !== undefined) return;
    if (node.op !== 'call' && node.op !== 'rcall') return;
    const name = (node.args as unknown[])[0];
    const reason = typeof name === 'string' ? FORBIDDEN_FUNCTIONS.get(name) : undefined;
    if (reason !== undefined && typeof name === 'string') {
      const at = source.indexOf(name, node.pos);
      found = { reason, position: at === -1 ? node.pos : at };
    }
  }, () => undefined);
  return found;
}

/** The root variables `root` reads, in order of first use, without comprehension variables. */
export function freeVariables(root: unknown): VariableUse[] {
  const uses = new Map<string, VariableUse>();
  walk(root, new Set(), () => undefined, (name, position, field) => {
    if (!uses.has(name)) uses.set(name, field === undefined ? { name, position } : { name, position, field });
  });
  return [...uses.values()];
}

function walk(
  value: unknown,
  bound: ReadonlySet<string>,
  visit: (node: Node) => void,
  onVariable: (name: string, position: number, field: string | undefined) => void,
  field?: string,
): void {
  if (Array.isArray(value)) {
    for (const item of value) walk(item, bound, visit, onVariable);
    return;
  }
  if (!isNode(value)) return;
  visit(value);
  const args = value.args;
  switch (value.op) {
    case 'id':
      if (typeof args === 'string' && !bound.has(args)) onVariable(args, value.pos, field);
      return;
    case '.':
    case '.?': {
      const [target, name] = args as [unknown, unknown];
      walk(target, bound, visit, onVariable, typeof name === 'string' ? name : undefined);
      return;
    }
    case 'rcall': {
      const [name, receiver, callArgs] = args as [string, unknown, unknown[]];
      const first = callArgs[0];
      // `list.map(x, …)` and `cel.bind(x, value, …)`: x is bound in the arguments after it.
      const binds = (BINDING_MACROS.has(name) || (name === 'bind' && isNode(receiver) && receiver.op === 'id' && receiver.args === 'cel')) && isNode(first) && first.op === 'id' && typeof first.args === 'string';
      if (!(name === 'bind' && binds)) walk(receiver, bound, visit, onVariable);
      if (binds) {
        const inner = new Set(bound).add(first.args as string);
        // cel.bind's value is evaluated outside the binding; a macro's body inside it.
        callArgs.slice(1).forEach((arg, index) => walk(arg, name === 'bind' && index === 0 ? bound : inner, visit, onVariable));
      } else {
        walk(callArgs, bound, visit, onVariable);
      }
      return;
    }
    case 'call':
      walk((args as [string, unknown[]])[1], bound, visit, onVariable);
      return;
    default:
      walk(args, bound, visit, onVariable);
  }
}
