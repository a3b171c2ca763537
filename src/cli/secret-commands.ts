import type { Command } from 'commander';
import { CliError, EXIT } from './api-client.js';
import { collect, print, readFileOrFail, run, table, wsPath } from './command-context.js';

/*
 * `hookflow secrets set|list|delete`: workspace secrets (docs/secrets.md) through the management
 * API. The value is read from a file or stdin, never from the command line, so it stays out of
 * shell history and process listings; nothing ever prints a value (the server never returns one).
 */

/** `<workspace>/<NAME>`: the name as `{{secrets.NAME}}` spells it (the server checks it again). */
function secretPath(ref: string): string {
  const match = /^([A-Za-z0-9][A-Za-z0-9_-]{0,63})\/([A-Za-z_][A-Za-z0-9_]{0,63})$/.exec(ref);
  if (match === null) throw new CliError(`expected <workspace>/<SECRET_NAME> (letters, digits, _; not starting with a digit), got "${ref}"`, EXIT.usage);
  return `${wsPath(match[1] as string)}/secrets/${encodeURIComponent(match[2] as string)}`;
}

/** Reads stdin to its end (a pipe or a redirected file). */
async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * The value from `--from-file` or stdin, without one trailing line break (what `echo` and
 * editors add, and what would break a header). A terminal is refused: typed text would show.
 */
async function readValue(fromFile: string | undefined): Promise<string> {
  if (fromFile === undefined && process.stdin.isTTY === true) {
    throw new CliError('give the value on stdin (hookflow secrets set ws/NAME < file) or with --from-file <path>; it is never read from the command line or typed on a terminal', EXIT.usage);
  }
  const bytes = fromFile === undefined || fromFile === '-' ? await readStdin() : readFileOrFail(fromFile);
  const value = bytes.toString('utf8').replace(/\r?\n$/, '');
  if (value === '') throw new CliError('the value is empty: nothing was sent', EXIT.usage);
  return value;
}

/** Adds `secrets set|list|delete` to the program. */
export function registerSecretCommands(program: Command): void {
  const secrets = program.command('secrets').description('set, list and delete workspace secrets ({{secrets.NAME}} in HTTP and LLM steps; editor role)');
  secrets
    .command('set')
    .description('create or replace a secret; the value comes from stdin or --from-file, never from the command line')
    .argument('<ref>', '<workspace>/<SECRET_NAME>')
    .option('--from-file <path>', 'read the value from this file (- for stdin, the default)')
    .option('--allowed-origin <origin>', 'an origin the secret may be sent to, e.g. https://api.example.com (repeatable; none: anywhere)', collect, [])
    .option('--json', 'print as JSON')
    .action(run(async (context, ref: string, options: { fromFile?: string; allowedOrigin: string[] }) => {
      const path = secretPath(ref);
      const value = await readValue(options.fromFile);
      const body = { value, ...(options.allowedOrigin.length > 0 ? { allowedOrigins: options.allowedOrigin } : {}) };
      const secret = (await context.client.expect('PUT', path, body)) as { name: string; allowedOrigins: string[] };
      print(context, secret, () => `${ref} set${secret.allowedOrigins.length > 0 ? ` (may be sent to ${secret.allowedOrigins.join(', ')})` : ' (may be sent anywhere)'}`);
    }));
  secrets
    .command('list')
    .description('list the names of a workspace\'s secrets (never their values)')
    .argument('<workspace>')
    .option('--json', 'print as JSON')
    .action(run(async (context, workspace: string) => {
      const items = await context.client.listAll(`${wsPath(workspace)}/secrets`);
      print(context, items, () => table(items.map((s) => ({ ...s, origins: (s['allowedOrigins'] as string[]).join(',') || '(anywhere)' })), ['name', 'origins', 'updatedAt']));
    }));
  secrets
    .command('delete')
    .argument('<ref>', '<workspace>/<SECRET_NAME>')
    .option('--json', 'print as JSON')
    .action(run(async (context, ref: string) => {
      await context.client.expect('DELETE', secretPath(ref));
      print(context, { deleted: ref }, () => `${ref} deleted`);
    }));
}
