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
 * Reads one line from the terminal without echoing it (the value never shows on screen or in
 * a scrollback): Enter ends it, Backspace deletes, Ctrl-C aborts.
 */
function readHiddenLine(prompt: string): Promise<string> {
  const input = process.stdin;
  process.stderr.write(prompt);
  input.setRawMode(true);
  input.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const done = (error?: CliError): void => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
      if (error === undefined) resolve(value);
      else reject(error);
    };
    const onData = (chunk: Buffer): void => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n' || char === '\u0004') return done();
        if (char === '\u0003') return done(new CliError('aborted: nothing was sent', EXIT.usage));
        if (char === '\u007f' || char === '\b') value = [...value].slice(0, -1).join('');
        else value += char;
      }
    };
    input.on('data', onData);
  });
}

/**
 * The value from `--from-file`, stdin, or a hidden prompt when stdin is a terminal; without one
 * trailing line break (what `echo` and editors add, and what would break a header).
 */
async function readValue(ref: string, fromFile: string | undefined): Promise<string> {
  let text: string;
  if (fromFile === undefined && process.stdin.isTTY === true) text = await readHiddenLine(`value of ${ref} (not shown): `);
  else text = (fromFile === undefined || fromFile === '-' ? await readStdin() : readFileOrFail(fromFile)).toString('utf8');
  const value = text.replace(/\r?\n$/, '');
  if (value === '') throw new CliError('the value is empty: nothing was sent', EXIT.usage);
  return value;
}

/** Adds `secrets set|list|delete` to the program. */
export function registerSecretCommands(program: Command): void {
  const secrets = program.command('secrets').description('set, list and delete workspace secrets ({{secrets.NAME}} in HTTP and LLM steps; editor role)');
  secrets
    .command('set')
    .description('create or replace a secret; the value comes from --from-file, stdin, or a prompt that does not echo it, never from the command line')
    .argument('<ref>', '<workspace>/<SECRET_NAME>')
    .option('--from-file <path>', 'read the value from this file (- for stdin, the default)')
    .option('--allowed-origin <origin>', 'an origin the secret may be sent to, e.g. https://api.example.com (repeatable; none: anywhere)', collect, [])
    .option('--json', 'print as JSON')
    .action(run(async (context, ref: string, options: { fromFile?: string; allowedOrigin: string[] }) => {
      const path = secretPath(ref);
      const value = await readValue(ref, options.fromFile);
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
