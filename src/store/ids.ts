import { randomUUID } from 'node:crypto';

/**
 * A new id: prefix, then the time in base36 (so ids sort by creation time), then 80 random bits.
 * Example: `run_0mhx3k2q1a9f7c2e4b6d8a0`. The randomness comes from `randomUUID`, which draws
 * from a buffered entropy pool: a syscall per id would be a measurable cost on the ingest path.
 */
export function newId(prefix: string, now: number = Date.now()): string {
  const random = randomUUID();
  return `${prefix}_${now.toString(36).padStart(9, '0')}${random.slice(0, 8)}${random.slice(9, 13)}${random.slice(15, 18)}${random.slice(19, 24)}`;
}
