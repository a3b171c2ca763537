import { describe, expect, it } from 'vitest';
import { MemoryBudget } from './memory-budget.js';

const MiB = 1024 * 1024;

describe('MemoryBudget', () => {
  it('refuses a reservation that does not fit and admits it again once bytes are released', () => {
    const budget = new MemoryBudget({ limitBytes: 10 * MiB, heapUsed: () => 0, heapLimit: 1e12 });
    const first = budget.tryReserve(6 * MiB);
    expect(first).not.toBeNull();
    expect(budget.tryReserve(5 * MiB)).toBeNull();
    first?.release();
    first?.release(); // idempotent: the count must not go negative
    expect(budget.usedBytes).toBe(0);
    expect(budget.tryReserve(5 * MiB)?.bytes).toBe(5 * MiB);
  });

  it('grows a reservation only while the growth fits', () => {
    const budget = new MemoryBudget({ limitBytes: 10 * MiB, heapUsed: () => 0, heapLimit: 1e12 });
    const reservation = budget.tryReserve(0);
    expect(reservation?.growTo(8 * MiB)).toBe(true);
    expect(reservation?.growTo(11 * MiB)).toBe(false);
    expect(budget.usedBytes).toBe(8 * MiB);
    reservation?.release();
    expect(budget.usedBytes).toBe(0);
    expect(reservation?.growTo(1)).toBe(false);
  });

  it('counts a forced reservation, so later callers wait for it', async () => {
    const budget = new MemoryBudget({ limitBytes: 10 * MiB, heapUsed: () => 0, heapLimit: 1e12 });
    const taken = budget.reserve(12 * MiB);
    expect(budget.full()).toBe(true);
    expect(budget.tryReserve(0)).toBeNull();
    let woke = false;
    const waiting = budget.whenRoom().then(() => {
      woke = true;
    });
    await Promise.resolve();
    expect(woke).toBe(false);
    taken.release();
    await waiting;
    expect(woke).toBe(true);
  });

  it('counts as full while the heap is past its ceiling, whatever the byte count says', () => {
    let heap = 100;
    const budget = new MemoryBudget({ limitBytes: 10 * MiB, heapLimit: 1000, heapFraction: 0.5, heapUsed: () => heap });
    expect(budget.full()).toBe(false);
    heap = 600;
    // The heap figure is sampled at most every 20 ms; a fresh budget samples on first use.
    const fresh = new MemoryBudget({ limitBytes: 10 * MiB, heapLimit: 1000, heapFraction: 0.5, heapUsed: () => heap });
    expect(fresh.full()).toBe(true);
    expect(fresh.tryReserve(1)).toBeNull();
  });

  it('ends a wait on abort', async () => {
    const budget = new MemoryBudget({ limitBytes: 1, heapUsed: () => 0, heapLimit: 1e12 });
    budget.reserve(2);
    const controller = new AbortController();
    const waiting = budget.whenRoom(controller.signal);
    controller.abort();
    await expect(waiting).resolves.toBeUndefined();
  });
});
