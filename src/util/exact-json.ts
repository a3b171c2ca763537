import { isLosslessNumber, isSafeNumber, LosslessNumber, parse, stringify } from 'lossless-json';

/*
 * JSON whose numbers keep their digits (docs/numbers.md). `JSON.parse` turns an order id such as
 * 820982911946154508 into 820982911946154500; here a number a double cannot hold exactly (an
 * integer beyond 2^53, a decimal with more significant digits than a double keeps, an exponent
 * out of range) is parsed into a `LosslessNumber`, which keeps the text of the number, and is
 * written back as those same digits. Numbers a double holds exactly stay plain numbers, so code
 * that does arithmetic on ordinary values is unaffected.
 *
 * A `LosslessNumber` is a class instance: it does not survive structured cloning (worker
 * threads), so values are serialised before they cross a thread, and scripts get such numbers
 * as strings (`forScript`).
 */

export { isLosslessNumber } from 'lossless-json';

// Only a number of 16 or more significant digits, or with a 3-digit exponent, can lose
// anything to a double: the tokens below. Inside strings they are found too; a false alarm
// only costs the slower parser.
const LONG_NUMBER = /-?\d(?:\.?\d){15,}(?:[eE][+-]?\d+)?|-?\d+(?:\.\d+)?[eE][+-]?\d{3,}/g;

/**
 * Whether every long number in `text` is one a double holds exactly, so `JSON.parse` loses
 * nothing. Doubles printed by JavaScript often have 17 digits (`16.990000000000002`) yet
 * round-trip; those keep the native parser.
 */
function allNumbersExact(text: string): boolean {
  for (const [token] of text.matchAll(LONG_NUMBER)) if (!isSafeNumber(token)) return false;
  return true;
}

const parseNumber = (text: string): number | LosslessNumber => (isSafeNumber(text) ? Number(text) : new LosslessNumber(text));

/**
 * Parses JSON text as `JSON.parse` does (a repeated key keeps its last value), except that a
 * number a double cannot hold exactly becomes a `LosslessNumber` with the digits received.
 *
 * @throws SyntaxError for text that is not JSON.
 */
export function parseExactJson(text: string): unknown {
  if (allNumbersExact(text)) return JSON.parse(text) as unknown;
  return parse(text, null, { parseNumber, onDuplicateKey: ({ newValue }) => newValue });
}

/**
 * Serialises like `JSON.stringify`, writing each `LosslessNumber` (and bigint) as its digits.
 * Values without one take the native serialiser.
 */
export function stringifyExactJson(value: unknown): string {
  return hasExactNumber(value, 0) ? (stringify(value) ?? 'null') : (JSON.stringify(value) ?? 'null');
}

/**
 * A copy of `value` in which every `LosslessNumber` is a string of its digits: what a script
 * sees (QuickJS has no such type, and a rounded number would be silently wrong).
 */
export function forScript(value: unknown): unknown {
  if (isLosslessNumber(value)) return value.toString();
  if (Array.isArray(value)) return value.map(forScript);
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, forScript(item)]));
  }
  return value;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * `value` as CEL expressions see it (docs/expressions.md, Types): a `LosslessNumber` that is an
 * integer within int64 becomes a bigint, a CEL `int` compared exactly
 * (`body.order_id == 820982911946154508`); any other (a long decimal, a larger integer) becomes a
 * string of its digits, never a rounded double. Parts holding no such number are returned as they
 * are, not copied, so the usual value costs one walk and no allocation.
 */
export function forExpression(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null || depth > 10_000) return value;
  if (isLosslessNumber(value)) {
    const digits = value.toString();
    if (/^-?\d+$/.test(digits)) {
      const integer = BigInt(digits);
      if (integer >= INT64_MIN && integer <= INT64_MAX) return integer;
    }
    return digits;
  }
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let index = 0; index < value.length; index++) {
      const item: unknown = value[index];
      const seen = forExpression(item, depth + 1);
      if (seen !== item) (copy ??= [...value])[index] = seen;
    }
    return copy ?? value;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  const record = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  // for…in, not Object.entries: this runs on every evaluation, and allocates nothing for the usual value.
  for (const key in record) {
    const item = record[key];
    if (typeof item !== 'object' || item === null) continue;
    const seen = forExpression(item, depth + 1);
    if (seen !== item) (copy ??= { ...record })[key] = seen;
  }
  return copy ?? value;
}

/** Whether `value` holds a LosslessNumber or bigint anywhere; depth-bounded like the values it walks. */
function hasExactNumber(value: unknown, depth: number): boolean {
  if (typeof value === 'bigint') return true;
  if (typeof value !== 'object' || value === null || depth > 10_000) return false;
  if (isLosslessNumber(value)) return true;
  if (Array.isArray(value)) return value.some((item) => hasExactNumber(item, depth + 1));
  for (const key in value) if (hasExactNumber((value as Record<string, unknown>)[key], depth + 1)) return true;
  return false;
}
