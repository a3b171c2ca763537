import { readFileSync } from 'node:fs';
import { loadCliConfig, type CliConfig } from '../config/cli-config.js';
import { isHookflowError } from '../errors/catalogue.js';
import { ApiClient, CliError, EXIT } from './api-client.js';

/*
 * What every client command shares: its context (config, API client, --json), printing, and
 * turning a failure into a message on stderr with its documented exit code (api-client.ts EXIT).
 */

export interface Context {
  config: CliConfig;
  client: ApiClient;
  json: boolean;
}

/** Writes the result: JSON with --json, else the human text. */
export function print(context: Context, data: unknown, human: () => string): void {
  process.stdout.write(`${context.json ? JSON.stringify(data, null, 2) : human()}\n`);
}

/** Runs a command body with its context; CliError and config errors become a message on stderr and their exit code. */
export function run<A extends unknown[]>(body: (context: Context, ...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    // commander passes (…arguments, options, command): the options object sits just before the command.
    const options = (args[args.length - 2] ?? {}) as { json?: boolean };
    try {
      const config = loadCliConfig(process.env, process.stdout.isTTY === true);
      await body({ config, client: new ApiClient(config), json: options.json === true }, ...args);
    } catch (error) {
      const code = error instanceof CliError ? error.exitCode : isHookflowError(error, 'HOOKFLOW_ERR_CONFIG') ? EXIT.usage : EXIT.serverError;
      process.stderr.write(`hookflow: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = code;
    }
  };
}

/** The management API path of a workspace. */
export const wsPath = (workspace: string): string => `/api/workspaces/${encodeURIComponent(workspace)}`;

/** Rows as aligned-enough text columns, or `(none)`. */
export const table = (rows: Record<string, unknown>[], columns: string[]): string =>
  rows.length === 0 ? '(none)' : rows.map((row) => columns.map((column) => String(row[column] ?? '-')).join('  ')).join('\n');

/** A file's bytes, or a usage error (exit 2) naming it. */
export function readFileOrFail(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, EXIT.usage, { cause: error });
  }
}

/** Commander's reducer for a repeatable option. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
