import { describe, expect, it } from 'vitest';
import { jsonTextOf } from './json-text.js';

describe('jsonTextOf', () => {
  it('serialises as JSON.stringify does, once per object', () => {
    const value = { n: 1 };
    expect(jsonTextOf(value)).toBe('{"n":1}');
    value.n = 2; // values in a run's memory are never mutated; the cache relies on that
    expect(jsonTextOf(value)).toBe('{"n":1}');
    expect(jsonTextOf('x')).toBe('"x"');
    expect(jsonTextOf(null)).toBe('null');
    expect(jsonTextOf(undefined)).toBeUndefined();
  });

  it('serialises the prepared form of a value', () => {
    expect(jsonTextOf({ id: 7 }, (value) => ({ wrapped: value }))).toBe('{"wrapped":{"id":7}}');
  });
});
