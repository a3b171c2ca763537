/**
 * The JSON text of values passed on as text more than once (a run's body goes to every script
 * step of the run): remembered per object, so each is converted and serialised once.
 */
const texts = new WeakMap<object, string>();

/**
 * The JSON text of `prepare(value)`; undefined when it has none (a function, undefined), as
 * JSON.stringify. Objects are remembered: values in a run's memory are never mutated, and the
 * one caller always passes the same `prepare`.
 */
export function jsonTextOf(value: unknown, prepare: (value: unknown) => unknown = (same) => same): string | undefined {
  if (value === null || typeof value !== 'object') return JSON.stringify(prepare(value));
  let text = texts.get(value);
  if (text === undefined) {
    text = JSON.stringify(prepare(value));
    if (text !== undefined) texts.set(value, text);
  }
  return text;
}
