/**
 * Nesting depth of JSON-like values, measured without recursion.
 *
 * Why it matters: Node's structured clone (every `postMessage` to the SQLite writer or a script
 * thread) and `JSON.stringify` recurse, and overflow the call stack near 4,000 levels with a
 * RangeError that, thrown from a timer or a message handler, ends the process. `JSON.parse`
 * does not recurse, so an API can hand us a value nested 10,000 deep for 20 KB. Every value that
 * enters from outside (an HTTP or LLM answer, a definition, a script result) is measured here
 * where it enters, against HOOKFLOW_MAX_JSON_DEPTH, so nothing deeper ever reaches a thread
 * boundary or the store.
 */

/**
 * True when `value` nests arrays/objects deeper than `maxDepth` (a scalar is depth 0, `[]` is
 * 1, `[[1]]` is 2). Stops at the first path past the limit; iterative, so any depth is safe.
 */
export function exceedsDepth(value: unknown, maxDepth: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  const stack: { value: object; depth: number }[] = [{ value, depth: 1 }];
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    if (entry.depth > maxDepth) return true;
    const children: unknown[] = Array.isArray(entry.value) ? entry.value : Object.values(entry.value);
    for (const child of children) {
      if (child !== null && typeof child === 'object') stack.push({ value: child, depth: entry.depth + 1 });
    }
  }
  return false;
}
