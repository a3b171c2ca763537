import { describe, expect, it } from 'vitest';
import { exceedsDepth } from './value-depth.js';

const nested = (depth: number): unknown => JSON.parse('['.repeat(depth) + ']'.repeat(depth));

describe('exceedsDepth', () => {
  it('counts scalars as 0 and each array or object as one level', () => {
    expect(exceedsDepth('text', 0)).toBe(false);
    expect(exceedsDepth(null, 0)).toBe(false);
    expect(exceedsDepth([], 0)).toBe(true);
    expect(exceedsDepth([], 1)).toBe(false);
    expect(exceedsDepth({ a: [{ b: 1 }] }, 3)).toBe(false);
    expect(exceedsDepth({ a: [{ b: {} }] }, 3)).toBe(true);
  });

  it('finds the one deep branch among shallow ones', () => {
    expect(exceedsDepth({ wide: Array.from({ length: 1000 }, (_, i) => ({ i })), deep: nested(65) }, 64)).toBe(true);
    expect(exceedsDepth({ wide: Array.from({ length: 1000 }, (_, i) => ({ i })), deep: nested(63) }, 64)).toBe(false);
  });

  it('measures a value nested 100,000 deep without overflowing the stack', () => {
    expect(exceedsDepth(nested(100_000), 64)).toBe(true);
    expect(exceedsDepth(nested(100_000), 100_000)).toBe(false);
  });
});
