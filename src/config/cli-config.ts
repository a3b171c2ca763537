import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { HookflowError } from '../errors/catalogue.js';

/**
 * The environment of the client commands (`hookflow apply`, `send`, `url`, …), which talk to a
 * server's management API. Separate from the server's configuration: a laptop running the CLI
 * has none of the server's settings. docs/cli.md lists these variables.
 */
const cliEnvSchema = z.object({
  /** Base URL of the hookflow server. */
  HOOKFLOW_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8080'),
  /** Bearer token: the admin token or an API token. */
  HOOKFLOW_TOKEN: z.string().min(1).optional(),
  /** How long one HTTP call may take, ms. */
  HOOKFLOW_CLI_TIMEOUT_MS: z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(1).max(600_000)).default(30_000),
  /** `hookflow send`: the shared key, when not given with --key (else revealed through the API). */
  HOOKFLOW_WEBHOOK_KEY: z.string().min(1).optional(),
  /** `hookflow send`: the trigger's signature secret, when not given with --secret. */
  HOOKFLOW_SIGNING_SECRET: z.string().min(1).optional(),
  /** A profile (server URL and token) of the profiles file, for what HOOKFLOW_URL/HOOKFLOW_TOKEN leave unset. */
  HOOKFLOW_PROFILE: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be a profile name').optional(),
  /** The profiles file; default $XDG_CONFIG_HOME/hookflow/profiles.yaml (~/.config/…). */
  HOOKFLOW_PROFILES_FILE: z.string().min(1).optional(),
});

/** The profiles file: `name: {url, token}` per server. */
const profilesSchema = z.record(z.string(), z.object({ url: z.url({ protocol: /^https?$/ }).optional(), token: z.string().min(1).optional() }).strict());

function config(message: string): HookflowError {
  return new HookflowError('HOOKFLOW_ERR_CONFIG', message, { details: [message] });
}

/** Reads one profile; a missing file or profile, or a bad one, is an error naming it. */
function readProfile(name: string, file: string): { url?: string | undefined; token?: string | undefined } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw config(`HOOKFLOW_PROFILE=${name}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  const parsed = profilesSchema.safeParse(parseYaml(text));
  if (!parsed.success) throw config(`${file}: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  const profile = parsed.data[name];
  if (profile === undefined) throw config(`HOOKFLOW_PROFILE=${name}: no such profile in ${file}`);
  return profile;
}

export interface CliConfig {
  url: string;
  token: string | undefined;
  timeoutMs: number;
  webhookKey: string | undefined;
  signingSecret: string | undefined;
  /** Every variable for `${env:NAME}` references in workflow files. */
  env: Readonly<Record<string, string | undefined>>;
  /** Colour only on a terminal, and never with NO_COLOR. */
  colour: boolean;
}

/** Reads the CLI's environment once; a bad value is a HOOKFLOW_ERR_CONFIG naming it. */
export function loadCliConfig(env: Readonly<Record<string, string | undefined>>, stdoutIsTty: boolean): CliConfig {
  const picked = Object.fromEntries(Object.keys(cliEnvSchema.shape).flatMap((name) => (env[name] === undefined || env[name] === '' ? [] : [[name, env[name]]])));
  const parsed = cliEnvSchema.safeParse(picked);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new HookflowError('HOOKFLOW_ERR_CONFIG', `Invalid environment:\n  ${problems.join('\n  ')}`, { details: problems });
  }
  const profileName = parsed.data.HOOKFLOW_PROFILE;
  const profilesFile = parsed.data.HOOKFLOW_PROFILES_FILE ?? join(env['XDG_CONFIG_HOME'] ?? join(homedir(), '.config'), 'hookflow', 'profiles.yaml');
  const profile = profileName === undefined ? {} : readProfile(profileName, profilesFile);
  // The environment wins over the profile; the profile over the defaults.
  const url = picked['HOOKFLOW_URL'] === undefined ? (profile.url ?? parsed.data.HOOKFLOW_URL) : parsed.data.HOOKFLOW_URL;
  return Object.freeze({
    url: url.replace(/\/+$/, ''),
    token: parsed.data.HOOKFLOW_TOKEN ?? profile.token,
    timeoutMs: parsed.data.HOOKFLOW_CLI_TIMEOUT_MS,
    webhookKey: parsed.data.HOOKFLOW_WEBHOOK_KEY,
    signingSecret: parsed.data.HOOKFLOW_SIGNING_SECRET,
    env,
    colour: stdoutIsTty && (env['NO_COLOR'] === undefined || env['NO_COLOR'] === ''),
  });
}
