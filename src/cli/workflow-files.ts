import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describeIssues, workflowDefinitionSchema } from '../config/workflow-definition.js';
import { handshakeSecretField } from '../workflows/workflow-view.js';
import { CliError, EXIT } from './api-client.js';

/*
 * Workflow files for `hookflow apply` / `export`: YAML (several documents per file, `---`) or
 * JSON, each document one workflow: `workspace` plus its definition (with `id`). Secrets are
 * written as `${env:NAME}` (required) or `${env:NAME?}` (left out when unset: the stored secret
 * is kept), so files can be committed.
 */

/** One workflow as a file declares it, with its `${env:…}` references resolved. */
export interface DesiredWorkflow {
  workspace: string;
  id: string;
  /** The definition to send (secrets resolved). */
  definition: Record<string, unknown>;
  /** Where it came from, for messages. */
  source: string;
}

/** In a folder, workflow files are YAML or `*.workflow.json` (other JSON there, such as sample payloads, is left alone). */
const WORKFLOW_FILE = /(?:\.ya?ml|\.workflow\.json)$/i;
const ENV_REFERENCE = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)(\?)?\}/g;
const WHOLE_OPTIONAL_REFERENCE = /^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\?\}$/;

/** The workflow files at `path`: the file itself, or every .yaml/.yml/.workflow.json below the folder, sorted. */
export function listWorkflowFiles(path: string): string[] {
  let stat;
  try {
    stat = statSync(path);
  } catch (error) {
    throw new CliError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, EXIT.usage, { cause: error });
  }
  if (!stat.isDirectory()) return [path];
  return readdirSync(path, { recursive: true, encoding: 'utf8' })
    .filter((name) => WORKFLOW_FILE.test(name))
    .sort()
    .map((name) => join(path, name))
    .filter((file) => statSync(file).isFile());
}

/** Resolves `${env:NAME}` in every string; collects the names of missing variables instead of stopping at the first. */
function resolveEnv(value: unknown, env: Readonly<Record<string, string | undefined>>, missing: Set<string>): unknown {
  if (typeof value === 'string') {
    const optional = WHOLE_OPTIONAL_REFERENCE.exec(value);
    if (optional !== null) return env[optional[1] as string] ?? undefined;
    return value.replace(ENV_REFERENCE, (_match, name: string) => {
      const found = env[name];
      if (found === undefined) missing.add(name);
      return found ?? '';
    });
  }
  if (Array.isArray(value)) return value.map((item) => resolveEnv(item, env, missing));
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).map(([key, item]) => [key, resolveEnv(item, env, missing)] as const);
    return Object.fromEntries(entries.filter(([, item]) => item !== undefined));
  }
  return value;
}

/** Reads, resolves and validates every workflow in `path`; problems of every file are reported together. */
export function readDesiredWorkflows(path: string, env: Readonly<Record<string, string | undefined>>): DesiredWorkflow[] {
  const desired: DesiredWorkflow[] = [];
  const problems: string[] = [];
  const missing = new Set<string>();
  for (const file of listWorkflowFiles(path)) {
    const text = readFileSync(file, 'utf8');
    let documents: unknown[];
    if (extname(file).toLowerCase() === '.json') {
      try {
        const parsed: unknown = JSON.parse(text);
        documents = Array.isArray(parsed) ? parsed : [parsed];
      } catch (error) {
        problems.push(`${file}: not JSON (${(error as Error).message})`);
        continue;
      }
    } else {
      const parsed = parseAllDocuments(text);
      const errors = (Array.isArray(parsed) ? parsed : [parsed]).flatMap((document) => document.errors);
      if (errors.length > 0 || !Array.isArray(parsed)) {
        problems.push(`${file}: not YAML (${errors[0]?.message ?? 'unreadable'})`);
        continue;
      }
      documents = parsed.map((document) => document.toJS() as unknown).filter((document) => document !== null);
    }
    documents.forEach((document, index) => {
      const where = documents.length > 1 ? `${file} (document ${index + 1})` : file;
      if (typeof document !== 'object' || document === null || Array.isArray(document)) {
        problems.push(`${where}: expected a workflow object`);
        return;
      }
      const { workspace, ...definition } = resolveEnv(document, env, missing) as Record<string, unknown>;
      if (typeof workspace !== 'string' || workspace === '') problems.push(`${where}: workspace: required (the workspace id)`);
      if (typeof definition['id'] !== 'string') problems.push(`${where}: id: required (apply creates or updates by id)`);
      const parsed = workflowDefinitionSchema.safeParse(definition);
      if (!parsed.success) problems.push(...describeIssues(parsed.error).map((issue) => `${where}: ${issue}`));
      if (typeof workspace === 'string' && typeof definition['id'] === 'string' && parsed.success) {
        desired.push({ workspace, id: definition['id'], definition, source: where });
      }
    });
  }
  if (missing.size > 0) problems.unshift(`environment variables not set: ${[...missing].sort().join(', ')}`);
  const seen = new Set<string>();
  for (const workflow of desired) {
    const key = `${workflow.workspace}/${workflow.id}`;
    if (seen.has(key)) problems.push(`${workflow.source}: ${key} is declared twice`);
    seen.add(key);
  }
  if (problems.length > 0) throw new CliError(problems.join('\n'), EXIT.usage);
  return desired;
}

/** Where a definition holds secrets: the shared key, the signature secret, the handshake's secret, each LLM step's apiKey. */
function secretSlots(definition: Record<string, unknown>): { holder: Record<string, unknown>; field: string; path: string }[] {
  const slots: { holder: Record<string, unknown>; field: string; path: string }[] = [];
  const trigger = asRecord(definition['trigger']);
  if (trigger !== undefined) {
    slots.push({ holder: trigger, field: 'sharedKey', path: 'trigger.sharedKey' });
    const signature = asRecord(trigger['signature']);
    if (signature !== undefined) slots.push({ holder: signature, field: 'secret', path: 'trigger.signature.secret' });
    const handshake = asRecord(trigger['handshake']);
    const handshakeField = handshake === undefined || typeof handshake['provider'] !== 'string' ? undefined : handshakeSecretField({ provider: handshake['provider'] });
    if (handshake !== undefined && handshakeField !== undefined) slots.push({ holder: handshake, field: handshakeField, path: 'trigger.handshake.secret' });
  }
  const steps = definition['steps'];
  if (Array.isArray(steps)) {
    for (const step of steps) {
      const record = asRecord(step);
      if (record !== undefined && record['type'] === 'llm') slots.push({ holder: record, field: 'apiKey', path: `steps.${String(record['id'])}.apiKey` });
    }
  }
  return slots;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** Fields of the API's workflow view that are not part of a definition. */
const VIEW_FIELDS = ['workspaceId', 'version', 'webhookUrl', 'testWebhookUrl', 'createdAt', 'updatedAt'];

/**
 * The top-level fields in which the server's workflow (a GET answer) differs from the desired
 * definition; empty = nothing to do. Secrets cannot be compared (the server never shows them):
 * one the file gives counts as equal when the server has one set; one the file leaves out is
 * ignored (a PUT keeps it).
 */
export function changedFields(desired: Record<string, unknown>, current: Record<string, unknown>): string[] {
  const want = structuredClone(workflowDefinitionSchema.parse(desired)) as unknown as Record<string, unknown>;
  const have = structuredClone(current);
  for (const field of VIEW_FIELDS) delete have[field];
  const wantSlots = new Map(secretSlots(want).map((slot) => [slot.path, slot]));
  const haveSlots = new Map(secretSlots(have).map((slot) => [slot.path, slot]));
  for (const [path, slot] of haveSlots) {
    if (wantSlots.get(path)?.holder[slot.field] === undefined) delete slot.holder[slot.field];
    else if (slot.holder[slot.field] !== undefined) slot.holder[slot.field] = '<secret>';
  }
  for (const [path, slot] of wantSlots) {
    if (slot.holder[slot.field] !== undefined) slot.holder[slot.field] = haveSlots.has(path) ? '<secret>' : '<new secret>';
  }
  const fields = new Set([...Object.keys(want), ...Object.keys(have)]);
  return [...fields].filter((field) => canonical(want[field]) !== canonical(have[field])).sort();
}

/** JSON with object keys sorted, so key order never counts as a change. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    const record = asRecord(item);
    return record === undefined ? item : Object.fromEntries(Object.keys(record).sort().map((key) => [key, record[key]]));
  }) ?? 'undefined';
}

/** A workflow from a GET answer as a file document: `workspace` first, secrets as optional `${env:…}` references. */
export function toWorkflowDocument(view: Record<string, unknown>): Record<string, unknown> {
  const definition = structuredClone(view);
  for (const field of VIEW_FIELDS) delete definition[field];
  const workspace = String(view['workspaceId']);
  for (const slot of secretSlots(definition)) {
    if (slot.holder[slot.field] === undefined) continue;
    const name = `HOOKFLOW_SECRET_${workspace}_${String(definition['id'])}_${slot.path}`.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
    slot.holder[slot.field] = `\${env:${name}?}`;
  }
  return { workspace, ...definition };
}
