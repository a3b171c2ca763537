import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../telemetry/logger.js';
import { createProcessGuard, isFatal } from './process-guard.js';

function guarded(options: { maxPerWindow?: number; stormWindowMs?: number; clock?: () => number } = {}) {
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', destination: new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) }) });
  const exits: number[] = [];
  const guard = createProcessGuard({ logger, exit: (code) => exits.push(code), ...options });
  return { ...guard, exits, lines: () => lines.map((line) => JSON.parse(line) as { level: number; msg: string }) };
}

describe('process guard', () => {
  it('treats assertion failures as fatal and errors thrown by one operation as survivable', () => {
    expect(isFatal(Object.assign(new Error('x'), { code: 'ERR_INTERNAL_ASSERTION' }))).toBe(true);
    expect(isFatal(Object.assign(new Error('x'), { name: 'AssertionError' }))).toBe(true);
    expect(isFatal(new RangeError('Maximum call stack size exceeded'))).toBe(false);
    expect(isFatal(new TypeError('Cannot read properties of undefined'))).toBe(false);
  });

  it('logs a stack overflow from structured clone at error and survives it', () => {
    const guard = guarded();
    let overflow: Error | undefined;
    try {
      structuredClone(JSON.parse('['.repeat(10_000) + ']'.repeat(10_000)));
    } catch (error) {
      overflow = error as Error;
    }
    guard.onException(overflow!, 'uncaughtException');
    expect(guard.exits).toEqual([]);
    expect(guard.lines()).toMatchObject([{ level: 50, msg: expect.stringContaining('uncaught exception survived') }]);
  });

  it('exits after a storm of uncaught exceptions, and at once on a fatal one', () => {
    let now = 0;
    const guard = guarded({ maxPerWindow: 3, stormWindowMs: 1000, clock: () => now });
    for (let i = 0; i < 3; i++) guard.onException(new Error(`boom ${i}`), 'uncaughtException');
    expect(guard.exits).toEqual([]);
    now = 1500; // the window moved on: these three start a new one
    for (let i = 0; i < 3; i++) guard.onException(new Error(`boom ${i}`), 'uncaughtException');
    expect(guard.exits).toEqual([]);
    guard.onException(new Error('one too many'), 'uncaughtException');
    expect(guard.exits).toEqual([1]);
    guard.onException(Object.assign(new Error('broken invariant'), { code: 'ERR_INTERNAL_ASSERTION' }), 'uncaughtException');
    expect(guard.exits).toEqual([1, 1]);
    expect(guard.lines().filter((line) => line.level === 60)).toHaveLength(2);
  });

  it('logs an unhandled rejection and survives it', () => {
    const guard = guarded();
    guard.onRejection(new Error('nobody awaited me'));
    expect(guard.exits).toEqual([]);
    expect(guard.lines()).toMatchObject([{ level: 50, msg: expect.stringContaining('unhandled promise rejection survived') }]);
  });
});
