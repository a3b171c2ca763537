import type { Logger } from 'pino';

export interface ProcessGuardOptions {
  logger: Logger;
  /** Uncaught exceptions survived within `stormWindowMs` before the guard gives up and exits. Default 20. */
  maxPerWindow?: number;
  /** Default 60,000 ms. */
  stormWindowMs?: number;
  /** Ends the process (tests replace it). Default `process.exit`. */
  exit?: (code: number) => void;
  clock?: () => number;
}

/**
 * Errors that mean the process's own state can no longer be trusted: an assertion inside Node
 * or ours failed. Everything else that reaches the guard was thrown by one operation (a value a
 * sender or an API sent, a socket that went away) whose stack has unwound; the stores keep their
 * own bookkeeping consistent on failure and everything accepted is already committed, so the
 * process serves on rather than taking every tenant down.
 */
export function isFatal(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return error.name === 'AssertionError' || code === 'ERR_ASSERTION' || code === 'ERR_INTERNAL_ASSERTION';
}

/**
 * The last line of defence of `hookflow serve` / `worker`: an exception nobody caught or a
 * promise rejection nobody handled is logged at `error` (an operator must look: it is a bug) and
 * survived. It exits (1, after a `fatal` line) when the error is fatal (`isFatal`) or when
 * uncaught exceptions come in a storm (`maxPerWindow` within `stormWindowMs`): the process is
 * then stuck in a failing loop and a supervisor's restart serves better. Out-of-memory is not
 * an exception and is never seen here. Returns a function that removes the guard.
 */
export function installProcessGuard(options: ProcessGuardOptions): () => void {
  const { onException, onRejection } = createProcessGuard(options);
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}

/** The guard's two handlers, not yet installed (see installProcessGuard). */
export function createProcessGuard(options: ProcessGuardOptions): { onException: (error: Error, origin: string) => void; onRejection: (reason: unknown) => void } {
  const { logger } = options;
  const maxPerWindow = options.maxPerWindow ?? 20;
  const windowMs = options.stormWindowMs ?? 60_000;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const clock = options.clock ?? Date.now;
  let recent: number[] = [];

  const onException = (error: Error, origin: string): void => {
    const now = clock();
    recent = recent.filter((at) => now - at < windowMs);
    recent.push(now);
    if (isFatal(error) || recent.length > maxPerWindow) {
      logger.fatal({ err: error, origin, inWindow: recent.length }, 'uncaught exception; the process state cannot be trusted, exiting');
      logger.flush();
      exit(1);
      return;
    }
    logger.error({ err: error, origin }, 'uncaught exception survived; this is a bug, please report it');
  };
  const onRejection = (reason: unknown): void => {
    logger.error({ err: reason }, 'unhandled promise rejection survived; this is a bug, please report it');
  };
  return { onException, onRejection };
}
