#!/usr/bin/env node
import { Command } from 'commander';
import { startApp, type RunningApp } from '../app/app.js';
import { installProcessGuard } from '../app/process-guard.js';
import { rotateMasterKey } from '../app/rotate-master-key.js';
import { rotateAdminToken } from '../app/admin-token.js';
import { loadServerConfig, type ServerConfig } from '../config/server-config.js';
import { isHookflowError } from '../errors/catalogue.js';
import { openStore } from '../store/open-store.js';
import { createLogger } from '../telemetry/logger.js';
import { registerClientCommands } from './client-commands.js';
import { registerSecretCommands } from './secret-commands.js';

const program = new Command()
  .name('hookflow')
  .description('Durable, observable workflow runs from incoming webhooks')
  .showHelpAfterError()
  // Bad arguments are a usage error, exit 2 (docs/cli.md), not commander's default 1; help asked
  // for exits 0. Set before the commands are added, so every subcommand inherits it.
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2));

program
  .command('serve')
  .description('run the HTTP server and workers in one process (configured by environment variables; see README)')
  .action(() => run('serve'));

program
  .command('worker')
  .description('run workers only, sharing the store with `hookflow serve` processes')
  .action(() => run('worker'));

const keys = program.command('keys').description('manage encryption keys');
keys
  .command('rotate-master')
  .description('re-encrypt every stored secret under a new master key (stop serve and worker processes first; if one was running, run this again after restarting them)')
  .requiredOption('--new-key <base64>', 'the new master key: base64 of 32 bytes (e.g. `openssl rand -base64 32`)')
  .action(async (options: { newKey: string }) => {
    const config = configOrExit();
    const logger = createLogger({ level: config.logLevel });
    try {
      const { count, keyFile } = await rotateMasterKey({ config, newKeyBase64: options.newKey, logger });
      const next = {
        replaced: "the data dir's master.key now holds the new key (the old one is in master.key.previous: delete it once you no longer need it)",
        'already-new': "the data dir's master.key already held the new key",
        'not-used': 'set HOOKFLOW_MASTER_KEY to the new key before the next start',
      }[keyFile];
      process.stdout.write(`re-encrypted ${count} secrets; ${next}\n`);
    } catch (error) {
      process.stderr.write(`hookflow keys rotate-master: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = isHookflowError(error, 'HOOKFLOW_ERR_CONFIG') ? 2 : 1;
    }
  });

keys
  .command('rotate-admin')
  .description("replace the admin token with a new random one, printed once; the old one stops working on every node at once (run where HOOKFLOW_DATA_DIR or DATABASE_URL reach the server's database)")
  .action(async () => {
    const config = configOrExit();
    try {
      const store = await openStore(config);
      try {
        const token = await rotateAdminToken(store);
        process.stdout.write(`new admin token (shown once, store it now):\n  ${token}\nthe old one no longer works; a node whose HOOKFLOW_ADMIN_TOKEN still holds it will not start: set it to this one, or unset it\n`);
      } finally {
        await store.close();
      }
    } catch (error) {
      process.stderr.write(`hookflow keys rotate-admin: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = isHookflowError(error, 'HOOKFLOW_ERR_CONFIG') ? 2 : 1;
    }
  });

function configOrExit(): ServerConfig {
  try {
    return loadServerConfig(process.env);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  }
}

async function run(role: 'serve' | 'worker'): Promise<void> {
  const config = configOrExit();
  const logger = createLogger({ level: config.logLevel });
  // What still slips through is logged and survived, not allowed to end every tenant's service.
  installProcessGuard({ logger });
  let app: RunningApp;
  try {
    app = await startApp({ config, logger, role });
  } catch (error) {
    logger.fatal({ err: error }, 'hookflow could not start');
    logger.flush();
    // Exit now: what the failed start had opened (the SQLite writer thread, a pool) would
    // otherwise keep the process alive, doing nothing.
    process.exit(isHookflowError(error, 'HOOKFLOW_ERR_CONFIG') ? 2 : 1);
  }
  const shutdown = (signal: string): void => {
    logger.info({ signal }, 'stopping: no new requests, finishing in-flight runs');
    app.stop().then(
      () => {
        logger.info('stopped');
        logger.flush();
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

registerClientCommands(program);
registerSecretCommands(program);

await program.parseAsync(process.argv);
