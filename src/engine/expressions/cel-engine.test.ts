import { describe, expect, it } from 'vitest';
import { isHookflowError } from '../../errors/catalogue.js';
import { DEFAULT_EXPRESSION_LIMITS, ExpressionCompiler, expressionErrorDetails } from './cel-engine.js';
import { evaluateBoolean } from './conditions.js';
import { parseExactJson } from '../../util/exact-json.js';

const compiler = new ExpressionCompiler();
// The cost limit is deterministic; the time limit is a wall-clock backstop that a loaded machine
// could reach first. Tests of the cost limit lift the time limit so they cannot flake.
const costOnly = new ExpressionCompiler({ ...DEFAULT_EXPRESSION_LIMITS, timeoutMs: 60_000 });

function failure(run: () => unknown): { message: string; position: number | undefined } {
  try {
    run();
  } catch (thrown) {
    expect(isHookflowError(thrown, 'HOOKFLOW_ERR_EXPRESSION')).toBe(true);
    return { message: (thrown as Error).message, position: expressionErrorDetails(thrown)?.position };
  }
  throw new Error('expected the expression to fail');
}

describe('CEL expressions', () => {
  it('read memory variables by name, header maps included (the seed cases)', () => {
    const push = compiler.compile('githubHeaders["x-github-event"] == "push"');
    expect(push.evaluate({ githubHeaders: { 'x-github-event': 'push' } })).toBe(true);
    expect(push.evaluate({ githubHeaders: { 'x-github-event': 'pull_request' } })).toBe(false);
    const critical = compiler.compile('body.severity == "critical" && body.count > 2');
    expect(critical.evaluate({ body: { severity: 'critical', count: 3 } })).toBe(true);
    expect(critical.evaluate({ body: { severity: 'warning', count: 3 } })).toBe(false);
  });

  it('let has() test an optional field and list macros iterate JSON lists', () => {
    const wanted = compiler.compile('has(crm.followUp) && crm.followUp && crm.tags.exists(t, t == "vip")');
    expect(wanted.evaluate({ crm: { followUp: true, tags: ['a', 'vip'] } })).toBe(true);
    expect(wanted.evaluate({ crm: { tags: ['vip'] } })).toBe(false);
  });

  it('list the root variables read, without comprehension variables', () => {
    const compiled = compiler.compile('orders.items.all(i, i.qty > limit) && cel.bind(x, webhook.method, x == "POST")');
    expect(compiled.variables.map((use) => use.name)).toEqual(['orders', 'limit', 'webhook']);
    expect(compiled.variables[0]).toMatchObject({ position: 0, field: 'items' });
  });

  it('know the result type before any run where it can be known', () => {
    expect(compiler.compile('a == 1').type).toBe('bool');
    expect(compiler.compile('"text"').type).toBe('string');
    expect(compiler.compile('size(a) + 1').type).toBe('int');
    expect(compiler.compile('a.b').type).toBe('dyn');
  });

  it('refuse a syntax error with its position', () => {
    expect(failure(() => compiler.compile('body.severity ==')).position).toBe(16);
    expect(failure(() => compiler.compile('1 + "a"')).message).toMatch(/no matching overload|no such overload/);
  });

  it('refuse matches(): JavaScript regular expressions can backtrack exponentially', () => {
    const { message, position } = failure(() => compiler.compile('body.name.matches("(a+)+$")'));
    expect(message).toContain('"matches" is not available');
    expect(position).toBe(10);
  });

  it('never read inherited properties of JSON objects', () => {
    const { message } = failure(() => compiler.compile('body.constructor').evaluate({ body: {} }));
    expect(message).toContain('constructor');
  });

  it('name a missing key at run time with its position', () => {
    const { message, position } = failure(() => compiler.compile('body.severity == "critical"').evaluate({ body: {} }));
    expect(message).toContain('No such key: severity');
    expect(position).toBe(5);
  });

  it('require a boolean where a condition is expected, naming what came instead', () => {
    const compiled = compiler.compile('body.count');
    expect(failure(() => evaluateBoolean(compiled, { body: { count: 3 } }, 'The condition')).message).toContain('must be a boolean, got double');
    expect(evaluateBoolean(compiler.compile('body.ok'), { body: { ok: true } }, 'The condition')).toBe(true);
  });
});

describe('CEL and numbers beyond a double', () => {
  const compiler = new ExpressionCompiler();
  const body = parseExactJson('{"order_id":820982911946154508,"total":0.12345678901234567890123,"huge":123456789012345678901234567890,"qty":2}');
  const check = (source: string): unknown => compiler.compile(source).evaluate({ body });

  it('see an integer beyond 2^53 as an exact int, never rounded', () => {
    expect(check('body.order_id == 820982911946154508')).toBe(true);
    // 820982911946154509 rounds to the same double as ...508: only an exact comparison tells them apart.
    expect(check('body.order_id == 820982911946154509')).toBe(false);
    expect(check('string(body.order_id) == "820982911946154508"')).toBe(true);
    expect(check('body.order_id > 820982911946154507 && body.qty == 2')).toBe(true);
  });

  it('see a long decimal, or an integer beyond int64, as the string of its digits', () => {
    expect(check('body.total == "0.12345678901234567890123"')).toBe(true);
    expect(check('body.huge == "123456789012345678901234567890"')).toBe(true);
  });
});

describe('CEL limits: crafted expressions fail fast with a clear error', () => {
  it('refuses an expression longer than the limit', () => {
    const long = `"${'a'.repeat(DEFAULT_EXPRESSION_LIMITS.maxLength)}" == x`;
    expect(failure(() => compiler.compile(long)).message).toContain('HOOKFLOW_EXPRESSION_MAX_LENGTH');
  });

  it('refuses deep nesting at parse time', () => {
    const deep = `${'('.repeat(200)}1${')'.repeat(200)} == 1`;
    expect(failure(() => compiler.compile(deep)).message).toMatch(/too complex: exceeded maxDepth/);
  });

  it('refuses too many nodes at parse time', () => {
    const wide = Array.from({ length: 600 }, (_, i) => `a${i}`).join(' + ');
    expect(failure(() => compiler.compile(wide)).message).toMatch(/too complex: exceeded maxAstNodes/);
  });

  it('stops nested comprehensions (huge fan-out) at the cost limit', () => {
    const range = `[${Array.from({ length: 200 }, (_, i) => i).join(',')}]`;
    const fanOut = costOnly.compile(`${range}.map(a, ${range}.map(b, ${range}.map(c, a + b + c))).size() > 0`);
    expect(failure(() => fanOut.evaluate({})).message).toContain(`cost limit of ${DEFAULT_EXPRESSION_LIMITS.maxCost}`);
  });

  it('stops comprehensions over a big input list at the cost limit', () => {
    const items = Array.from({ length: 2000 }, (_, i) => i);
    const quadratic = costOnly.compile('body.items.all(a, body.items.exists(b, a == b))');
    expect(failure(() => quadratic.evaluate({ body: { items } })).message).toContain('HOOKFLOW_EXPRESSION_MAX_COST');
  });

  it('stops values that double in size (long strings, long lists) at the cost limit, not only by nesting', () => {
    // The default depth limit already stops 40 nested binds; lifted, the cost budget still does.
    const deepAllowed = new ExpressionCompiler({ ...DEFAULT_EXPRESSION_LIMITS, maxDepth: 500, timeoutMs: 60_000 });
    const doubling = Array.from({ length: 40 }, (_, i) => `cel.bind(v${i + 1}, v${i} + v${i}, `).join('') + 'size(v40) > 0' + ')'.repeat(40);
    const strings = deepAllowed.compile(`cel.bind(v0, "abcdefgh", ${doubling})`);
    expect(failure(() => strings.evaluate({})).message).toContain('cost limit');
    const lists = deepAllowed.compile(`cel.bind(v0, [1, 2], ${doubling})`);
    expect(failure(() => lists.evaluate({})).message).toContain('cost limit');
    expect(failure(() => compiler.compile(`cel.bind(v0, [1, 2], ${doubling})`)).message).toContain('maxDepth');
  });

  it('stops at the time limit when the work is slower than the cost budget allows for', () => {
    const slow = new ExpressionCompiler({ ...DEFAULT_EXPRESSION_LIMITS, maxCost: Number.MAX_SAFE_INTEGER, timeoutMs: 1 });
    const items = Array.from({ length: 3000 }, (_, i) => i);
    const quadratic = slow.compile('body.items.all(a, body.items.exists(b, a == b + 1.0 || a == b))');
    expect(failure(() => quadratic.evaluate({ body: { items } })).message).toContain('time limit of 1 ms (HOOKFLOW_EXPRESSION_TIMEOUT_MS)');
  });

  it('applies its own limits: a small cost budget stops what the default allows', () => {
    const small = new ExpressionCompiler({ ...DEFAULT_EXPRESSION_LIMITS, maxCost: 50 });
    const source = 'body.items.all(i, i > 0)';
    const body = { items: Array.from({ length: 100 }, (_, i) => i + 1) };
    expect(compiler.compile(source).evaluate({ body })).toBe(true);
    expect(failure(() => small.compile(source).evaluate({ body })).message).toContain('cost limit of 50');
  });

  it('caches compiled sources, and the budget holds across evaluations', () => {
    const first = compiler.compileCached('x > 1');
    expect(compiler.compileCached('x > 1')).toBe(first);
    for (let i = 0; i < 1000; i++) expect(first.evaluate({ x: i })).toBe(i > 1);
  });
});
