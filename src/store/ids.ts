import { randomBytes } from 'node:crypto';

/**
 * A new id: prefix, then the time in base36 (so ids sort by creation time), then 80 random bits.
 * Example: `run_0mhx3k2q1a9f7c2e4b6d8a0`.
 */
export function newId(prefix: string, now: number = Date.now()): string {
  return `${prefix}_${now.toString(36).padStart(9, '0')}${randomBytes(10).toString('hex')}`;
}
