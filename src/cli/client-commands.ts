import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { CliError, EXIT, exitCodeFor, splitRef } from './api-client.js';
import { collect, print, readFileOrFail, run, table, wsPath, type Context } from './command-context.js';
import { describePlan, executePlan, planApply } from './apply.js';
import { sendWebhook } from './send.js';
import { readDesiredWorkflows, toWorkflowDocument } from './workflow-files.js';

/*
 * The client commands: they talk to a running server's management API through HOOKFLOW_URL
 * and HOOKFLOW_TOKEN (docs/cli.md). Each prints text for people, or JSON with --json, and ends
 * with a documented exit code (api-client.ts EXIT).
 */

const wfPath = (ref: string): string => {
  const [workspace, workflow] = splitRef(ref, 'workflow');
  return `${wsPath(workspace)}/workflows/${encodeURIComponent(workflow)}`;
};
const runPath = (ref: string): string => {
  const [workspace, run] = splitRef(ref, 'run');
  return `${wsPath(workspace)}/runs/${encodeURIComponent(run)}`;
};

type Page = { items: Record<string, unknown>[]; nextCursor: string | null };

/** Adds `send`, `url`, `workspaces`, `workflows`, `apply`, `export`, `runs` and `tokens` to the program. */
export function registerClientCommands(program: Command): void {
  program
    .command('send')
    .description('send a webhook to <workspace>/<workflow>, with the key or signed for the trigger\'s scheme so the server verifies it')
    .argument('<ref>', '<workspace>/<workflow>')
    .requiredOption('-d, --data <body>', 'the body: @file to read a file, - for stdin, else the text itself')
    .option('-H, --header <name:value>', 'an extra header (repeatable)', collect, [])
    .option('--test', 'send to the test endpoint (checked and recorded, no run)')
    .option('--key <key>', 'the shared key (default HOOKFLOW_WEBHOOK_KEY, else revealed through the API: editor role, audited)')
    .option('--secret <secret>', 'the signature secret (default HOOKFLOW_SIGNING_SECRET); the server never shows it')
    .option('--json', 'print the answer as JSON')
    .action(run(async (context, ref: string, options: { data: string; header: string[]; test?: boolean; key?: string; secret?: string }) => {
      const body = options.data === '-' ? readFileSync(0) : options.data.startsWith('@') ? readFileOrFail(options.data.slice(1)) : Buffer.from(options.data);
      const [workspace, workflow] = splitRef(ref, 'workflow');
      const answer = await sendWebhook(context.client, context.config, { workspace, workflow, body, headers: options.header, test: options.test === true, key: options.key, secret: options.secret });
      print(context, { status: answer.status, body: answer.body }, () => `${answer.status} ${typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body)}`);
      process.exitCode = exitCodeFor(answer.status);
    }));

  program
    .command('url')
    .description('print the production and test webhook URLs of <workspace>/<workflow>')
    .argument('<ref>', '<workspace>/<workflow>')
    .option('--reveal', 'include the shared key (editor role; written to the audit log)')
    .option('--json', 'print as JSON')
    .action(run(async (context, ref: string, options: { reveal?: boolean }) => {
      const urls = (await context.client.expect('GET', `${wfPath(ref)}/webhook-url${options.reveal === true ? '?reveal=true' : ''}`)) as { webhookUrl: string; testWebhookUrl: string };
      print(context, urls, () => `${urls.webhookUrl}\n${urls.testWebhookUrl}`);
    }));

  const workspaces = program.command('workspaces').description('list and create workspaces');
  workspaces
    .command('list')
    .option('--json', 'print as JSON')
    .action(run(async (context) => {
      const items = await context.client.listAll('/api/workspaces');
      print(context, items, () => table(items, ['id', 'name', 'createdAt']));
    }));
  workspaces
    .command('create')
    .description('create a workspace (apply creates missing ones too; create it first to set its secrets before apply)')
    .argument('<id>')
    .option('--name <name>', 'its display name (default: the id)')
    .option('--json', 'print as JSON')
    .action(run(async (context, id: string, options: { name?: string }) => {
      const created = await context.client.expect('POST', '/api/workspaces', { id, name: options.name ?? id });
      print(context, created, () => `workspace ${id} created`);
    }));

  const workflows = program.command('workflows').description('list, show, enable, disable and delete workflows');
  workflows
    .command('list')
    .argument('<workspace>')
    .option('--json', 'print as JSON')
    .action(run(async (context, workspace: string) => {
      const items = await context.client.listAll(`${wsPath(workspace)}/workflows`);
      print(context, items, () => table(items.map((w) => ({ ...w, state: w['enabled'] === true ? 'enabled' : 'disabled' })), ['id', 'version', 'state', 'name']));
    }));
  workflows
    .command('get')
    .argument('<ref>', '<workspace>/<workflow>')
    .option('--json', 'print as JSON (default: YAML)')
    .action(run(async (context, ref: string) => {
      const workflow = await context.client.expect('GET', wfPath(ref));
      print(context, workflow, () => stringify(workflow).trimEnd());
    }));
  for (const [name, enabled] of [['enable', true], ['disable', false]] as const) {
    workflows
      .command(name)
      .argument('<ref>', '<workspace>/<workflow>')
      .option('--json', 'print as JSON')
      .action(run(async (context, ref: string) => {
        const workflow = (await context.client.expect('PATCH', wfPath(ref), { enabled }, 'application/merge-patch+json')) as { version: number };
        print(context, workflow, () => `${ref} ${enabled ? 'enabled' : 'disabled'} (version ${workflow.version})`);
      }));
  }
  workflows
    .command('delete')
    .argument('<ref>', '<workspace>/<workflow>')
    .option('--json', 'print as JSON')
    .action(run(async (context, ref: string) => {
      await context.client.expect('DELETE', wfPath(ref));
      print(context, { deleted: ref }, () => `${ref} deleted`);
    }));

  program
    .command('apply')
    .description('create or update workflows from YAML/JSON files (by id): shows the plan, then applies it')
    .requiredOption('-f, --file <path>', 'a workflow file, or a folder of them')
    .option('--dry-run', 'show the plan only')
    .option('--prune', 'also delete workflows of the named workspaces that no file declares')
    .option('--json', 'print the plan as JSON')
    .action(run(async (context, options: { file: string; dryRun?: boolean; prune?: boolean }) => {
      const desired = readDesiredWorkflows(options.file, context.config.env);
      const plan = await planApply(context.client, desired, { prune: options.prune === true });
      const report = plan.map(({ action, workspace, ...rest }) => ({ action, workspace, ...('id' in rest ? { id: rest.id } : {}), ...('changed' in rest ? { changed: rest.changed } : {}) }));
      if (!context.json) process.stdout.write(`${describePlan(plan, context.config.colour)}\n`);
      if (options.dryRun !== true) await executePlan(context.client, plan);
      if (context.json) print(context, { applied: options.dryRun !== true, plan: report }, () => '');
      else if (options.dryRun !== true && plan.some((item) => item.action !== 'unchanged')) process.stdout.write('Applied.\n');
    }));

  program
    .command('export')
    .description('print workflows as YAML files for apply (secrets as ${env:…?} references)')
    .argument('[workspaces...]', 'workspace ids (default: every workspace the token sees)')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action(run(async (context, workspaces: string[], options: { output?: string }) => {
      const ids = workspaces.length > 0 ? workspaces : (await context.client.listAll('/api/workspaces')).map((w) => String(w['id']));
      const documents: Record<string, unknown>[] = [];
      for (const workspace of ids) documents.push(...(await context.client.listAll(`${wsPath(workspace)}/workflows`)).map(toWorkflowDocument));
      const text = documents.map((document) => stringify(document)).join('---\n');
      if (options.output === undefined) process.stdout.write(text);
      else writeFileSync(options.output, text);
    }));

  const runs = program.command('runs').description('list, show and replay runs');
  runs
    .command('list')
    .argument('<ref>', '<workspace>/<workflow>')
    .option('--status <status>', 'queued, running, succeeded or failed')
    .option('--limit <n>', 'how many (newest first)', '20')
    .option('--json', 'print as JSON')
    .action(run(async (context, ref: string, options: { status?: string; limit: string }) => {
      const query = new URLSearchParams({ limit: options.limit, ...(options.status === undefined ? {} : { status: options.status }) });
      const page = (await context.client.expect('GET', `${wfPath(ref)}/runs?${query.toString()}`)) as Page;
      print(context, page.items, () => table(page.items, ['id', 'status', 'attempts', 'createdAt', 'error']));
    }));
  runs
    .command('show')
    .argument('<ref>', '<workspace>/<run id>')
    .option('--json', 'print as JSON (default: YAML)')
    .action(run(async (context, ref: string) => {
      const detail = await context.client.expect('GET', runPath(ref));
      print(context, detail, () => stringify(detail).trimEnd());
    }));
  runs
    .command('replay')
    .argument('<ref>', '<workspace>/<run id>')
    .option('--json', 'print as JSON')
    .action(run(async (context, ref: string) => {
      const queued = (await context.client.expect('POST', `${runPath(ref)}/replay`)) as { id: string };
      print(context, queued, () => `queued ${queued.id}`);
    }));

  runs
    .command('tail')
    .description('print runs of <workspace>/<workflow> as they are created and finish (until Ctrl-C)')
    .argument('<ref>', '<workspace>/<workflow>')
    .option('--interval <ms>', 'how often to ask the server', '1000')
    .option('--json', 'one JSON object per line')
    .action(run(async (context, ref: string, options: { interval: string }) => {
      await tail(context, `${wfPath(ref)}/runs`, Number(options.interval), (item) => `${String(item['createdAt'])}  ${String(item['id'])}  ${String(item['status'])}${item['error'] === null ? '' : `  ${String(item['error'])}`}`, (item) => `${String(item['status'])}`);
    }));

  const events = program.command('events').description('follow received requests');
  events
    .command('tail')
    .description('print requests to <workspace>/<workflow> as they arrive (until Ctrl-C)')
    .argument('<ref>', '<workspace>/<workflow>')
    .option('--interval <ms>', 'how often to ask the server', '1000')
    .option('--json', 'one JSON object per line')
    .action(run(async (context, ref: string, options: { interval: string }) => {
      await tail(context, `${wfPath(ref)}/events`, Number(options.interval), (item) => `${String(item['receivedAt'])}  ${String(item['id'])}${item['test'] === true ? '  (test)' : ''}  ${JSON.stringify(item['body'])}`);
    }));

  const tokens = program.command('tokens').description('create, list and revoke API tokens (admin role)');
  tokens
    .command('create')
    .requiredOption('--name <name>', 'what the token is for (shown in the audit log)')
    .requiredOption('--role <role>', 'viewer, editor or admin')
    .option('--workspace <id>', 'scope the token to one workspace (default: all)')
    .option('--json', 'print as JSON')
    .action(run(async (context, options: { name: string; role: string; workspace?: string }) => {
      const created = (await context.client.expect('POST', '/api/tokens', { name: options.name, role: options.role, ...(options.workspace === undefined ? {} : { workspaceId: options.workspace }) })) as { id: string; token: string };
      print(context, created, () => `${created.id}\n${created.token}\n(shown once: store it now)`);
    }));
  tokens
    .command('list')
    .option('--json', 'print as JSON')
    .action(run(async (context) => {
      const items = await context.client.listAll('/api/tokens');
      print(context, items, () => table(items, ['id', 'name', 'role', 'workspaceId', 'revokedAt']));
    }));
  tokens
    .command('revoke')
    .argument('<id>')
    .option('--json', 'print as JSON')
    .action(run(async (context, id: string) => {
      await context.client.expect('DELETE', `/api/tokens/${encodeURIComponent(id)}`);
      print(context, { revoked: id }, () => `${id} revoked`);
    }));
}

/**
 * Polls a newest-first list and prints each item once — again when `stateOf` changes (a run
 * going from queued to succeeded). Runs until the process is stopped.
 */
async function tail(context: Context, path: string, intervalMs: number, line: (item: Record<string, unknown>) => string, stateOf: (item: Record<string, unknown>) => string = () => ''): Promise<never> {
  if (!Number.isInteger(intervalMs) || intervalMs < 100) throw new CliError('--interval must be a whole number of ms, at least 100', EXIT.usage);
  let printed = new Map<string, string>();
  for (;;) {
    const page = (await context.client.expect('GET', `${path}?limit=100`)) as Page;
    const seen = new Map<string, string>();
    for (const item of [...page.items].reverse()) {
      const id = String(item['id']);
      const state = stateOf(item);
      seen.set(id, state);
      if (printed.get(id) !== state) process.stdout.write(`${context.json ? JSON.stringify(item) : line(item)}\n`);
    }
    // Only the current page is remembered: an item that left it (newest first) never comes back.
    printed = seen;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
