/**
 * JSON Merge Patch (RFC 7386 / 7396): objects merge member by member, `null` removes a member,
 * anything else (arrays included) replaces the target's value. Ten lines of the RFC's own
 * pseudo-code; a dependency would not be simpler.
 */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const result: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete result[name];
    else result[name] = applyMergePatch(result[name], value);
  }
  return result;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
