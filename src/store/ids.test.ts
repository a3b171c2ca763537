import { describe, expect, it } from 'vitest';
import { newId } from './ids.js';

describe('newId', () => {
  it('is the prefix, the time in base36 and 80 random bits, unique across refills of its random pool', () => {
    const ids = Array.from({ length: 5000 }, () => newId('run', 1_700_000_000_000));
    for (const id of ids) expect(id).toMatch(/^run_[0-9a-z]{9}[0-9a-f]{20}$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids.map((id) => id.slice(-20))).size).toBe(ids.length);
  });

  it('sorts by creation time', () => {
    const earlier = newId('evt', 1_700_000_000_000);
    const later = newId('evt', 1_700_000_000_001);
    expect(earlier < later).toBe(true);
  });
});
