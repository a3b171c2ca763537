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
});

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
  return Object.freeze({
    url: parsed.data.HOOKFLOW_URL.replace(/\/+$/, ''),
    token: parsed.data.HOOKFLOW_TOKEN,
    timeoutMs: parsed.data.HOOKFLOW_CLI_TIMEOUT_MS,
    webhookKey: parsed.data.HOOKFLOW_WEBHOOK_KEY,
    signingSecret: parsed.data.HOOKFLOW_SIGNING_SECRET,
    env,
    colour: stdoutIsTty && (env['NO_COLOR'] === undefined || env['NO_COLOR'] === ''),
  });
}
