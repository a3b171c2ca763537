import { isIP, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ServerConfig } from '../config/server-config.js';
import type { OwnEndpoint } from '../engine/net/address-policy.js';
import type { LoadShedder } from '../http/load-shedder.js';
import { buildHttpServer } from '../http/server.js';
import { ExpressionCompiler } from '../engine/expressions/cel-engine.js';
import { IngressService } from '../ingress/ingress-service.js';
import { RejectionLog } from '../ingress/rejection-log.js';
import { RunWaiter } from '../ingress/run-waiter.js';
import { SharedRateLimiter } from '../ingress/shared-rate-limiter.js';
import { TriggerRegistry } from '../ingress/trigger-registry.js';
import { BulkJobs } from '../queue/bulk-jobs.js';
import { WorkerPool } from '../queue/worker-pool.js';
import type { SecretCipher } from '../secrets/cipher.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { Metrics } from '../telemetry/metrics.js';
import { WorkflowLabels } from '../telemetry/workflow-labels.js';
import { WebhookObserver } from '../ingress/webhook-observer.js';
import { collectStartupGarbage } from './startup-garbage.js';
import { WebhookStatsRecorder } from '../ingress/webhook-stats-recorder.js';
import { WorkspaceDirectory } from '../ingress/workspace-directory.js';
import { secretDigest } from '../secrets/constant-time.js';
import { WorkflowService } from '../workflows/workflow-service.js';
import { findLooseModes, octal } from './data-dir-modes.js';
import { resolveMasterKey } from './master-key.js';
import { currentAdminTokenDigest, resolveAdminToken } from './admin-token.js';
import { TestRunService } from '../workflows/test-runs.js';
import { WorkspaceSecretService } from '../workflows/workspace-secrets.js';
import { bodyBytesCeiling, createLoadShedder, createMemoryBudget, startOpsListener } from './pressure.js';
import { createStepRunner } from './step-runner.js';
import { createAlerts } from '../alerts/create-alerts.js';
import type { AlertEvaluator } from '../alerts/alert-evaluator.js';

/** The built web console (`npm run build` → dist/console), beside src/ and dist/ alike. */
const CONSOLE_DIR = fileURLToPath(new URL('../../dist/console/', import.meta.url));

/** When the one collection of start-up garbage runs, ms after start (startup-garbage.ts). */
const STARTUP_GC_DELAY_MS = 5000;

export interface AppOptions {
  config: ServerConfig;
  logger: Logger;
  /** `serve`: HTTP + workers; `worker`: workers only. */
  role: 'serve' | 'worker';
  /** Injected clock (tests); default Date.now. */
  clock?: () => number;
}

/** A running hookflow process: what `hookflow serve` / `hookflow worker` start and stop. */
export interface RunningApp {
  store: Store;
  server: FastifyInstance | null;
  workers: WorkerPool | null;
  /** Built-in alerts' evaluator (tests run a pass with `pass()`). */
  alerts: AlertEvaluator;
  /** Base URL the server listens on (serve only). */
  url: string | null;
  /** Base URL of the operations listener (HOOKFLOW_OPS_PORT), if one was asked for. */
  opsUrl: string | null;
  /** Stops accepting, finishes or releases in-flight runs, flushes, closes storage. */
  stop(): Promise<void>;
}

/** The composition root: builds every part from the configuration and starts them. */
export async function startApp(options: AppOptions): Promise<RunningApp> {
  const { config, logger } = options;
  const clock = options.clock ?? Date.now;
  const store = await openStore(config);
  let cipher: SecretCipher;
  try {
    // Checked against the key the database records, so every node uses the same one. The key a
    // rotation replaced still decrypts (what a server running it wrote meanwhile).
    const masterKey = await resolveMasterKey({ dataDir: config.dataDir, fromEnv: config.masterKeyBase64, store });
    if (masterKey.generated) logger.warn({ dataDir: config.dataDir }, 'generated a new master key in the data dir (mode 0600); back it up — secrets cannot be read without it');
    cipher = masterKey.cipher;
    // Likewise the admin token: every serve node accepts the one the database records.
    const adminToken = options.role === 'serve' ? await resolveAdminToken({ dataDir: config.dataDir, fromEnv: config.adminToken, store }) : undefined;
    if (adminToken?.generated !== undefined) {
      // Printed once, to the terminal only (not the log stream): only its digest is recorded. At
      // once, not after listening: were the start to fail, a later one would not show it again.
      process.stderr.write(`\nhookflow admin token (shown once, store it now):\n  ${adminToken.generated}\n\n`);
    }
  } catch (error) {
    await store.close();
    throw error;
  }
  const metrics = new Metrics();
  metrics.watchPendingWrites(() => store.pendingWrites());
  metrics.watchQueue(async () => {
    const now = clock();
    const queue = await store.queueSnapshot(now);
    return { depth: queue.depth, oldestAgeSeconds: queue.oldestDueAt === null ? 0 : Math.max(0, now - queue.oldestDueAt) / 1000 };
  });
  const labels = new WorkflowLabels(metrics, config.telemetry.metricsMaxWorkflows);
  const stats = new WebhookStatsRecorder({
    save: (rows) => store.addWebhookStats(rows),
    flushMs: config.telemetry.statsFlushMs,
    onSaveError: (error) => logger.warn({ err: error }, 'could not store webhook stats; they are kept for the next try'),
  });
  const registry = new TriggerRegistry({ store, cipher, ttlMs: config.ingress.triggerCacheTtlMs, maxEntries: 50_000 });
  const budget = createMemoryBudget(config, metrics);
  // One compiler for the whole process: filters, conditions and save-time checks share its limits.
  const expressions = new ExpressionCompiler(config.expressions);
  const workspaceSecrets = new WorkspaceSecretService({ store, cipher, clock, ...config.workspaceSecrets });
  const workflows = new WorkflowService({ store, cipher, registry, clock, publicUrl: () => publicUrl, maxJsonDepth: config.ingress.maxJsonDepth, expressions, secretNames: (workspaceId) => workspaceSecrets.listSecretNames(workspaceId), onDeleted: (workspaceId, workflowId) => stats.forget(workspaceId, workflowId) });

  // Changes made through other nodes reach this node's trigger cache at once (PostgreSQL).
  const stopChangeNotices = store.onWorkflowChanged?.((change) => (change === null ? registry.invalidateAll() : registry.invalidate(change.workspaceId, change.workflowId)));

  // Callers of result-mode webhooks wait for their runs here: woken at once by local workers,
  // otherwise by a periodic read (runs finished by another node's workers).
  const runWaiter = new RunWaiter({ store, pollMs: 250 });

  // Steps may never call this process's own API. Filled once the server listens (the port may
  // be chosen then); a worker-only process keeps its configured address out of reach too.
  const ownEndpoints: OwnEndpoint[] = options.role === 'worker' && config.port !== 0 && isIP(config.host) !== 0 ? [{ address: config.host, port: config.port }] : [];
  let workers: WorkerPool | null = null;
  let steps: ReturnType<typeof createStepRunner> | undefined;
  // One set of step kinds for workers and test runs; made on first use (a serve without workers makes it only for a test run).
  const stepRunner = (): ReturnType<typeof createStepRunner> => {
    steps ??= createStepRunner({ budget, workflows, workspaceSecrets, store, egressAllowlist: config.egressAllowlist, ownEndpoints: () => ownEndpoints, scriptThreads: config.workers.scriptThreads, scriptIdleMs: config.workers.scriptIdleMs, maxJsonDepth: config.ingress.maxJsonDepth, expressions, logger, clock });
    return steps;
  };
  let stopWakeUps: (() => void) | undefined;
  const alerts = createAlerts({ config, store, cipher, clock, logger, ownEndpoints: () => ownEndpoints });
  if (config.workers.concurrency > 0) {
    const runner = stepRunner();
    workers = new WorkerPool({
      store,
      logger,
      metrics,
      labels,
      clock,
      concurrency: config.workers.concurrency,
      leaseMs: config.workers.leaseMs,
      runSteps: runner.runSteps,
      budget,
      retentionDays: config.retentionDays,
      backoff: { baseMs: config.workers.retryBaseMs, maxMs: config.workers.retryMaxMs },
      onRunFinished: (runId) => runWaiter.finished(runId),
    });
  }

  let server: FastifyInstance | null = null;
  let rateLimits: SharedRateLimiter | undefined;
  let bulkJobs: BulkJobs | undefined;
  let shedder: LoadShedder | undefined;
  let ops: Awaited<ReturnType<typeof startOpsListener>> = null;
  let publicUrl = config.publicUrl ?? '';
  if (options.role === 'serve') {
    const rejections = new RejectionLog({
      perWorkflowPerMinute: config.ingress.rejectedLogPerMinute,
      save: (record) => store.recordRejectedCall(record),
      metrics,
      onSaveError: (error) => logger.warn({ err: error }, 'could not record a rejected call'),
    });
    // Shared rate limits (REDIS_URL): every node draws from the same buckets.
    rateLimits = config.redisUrl === undefined ? undefined : await SharedRateLimiter.connect({ redisUrl: config.redisUrl, logger });
    const observer = new WebhookObserver({
      labels,
      stats,
      workspaces: new WorkspaceDirectory({ store, ttlMs: config.ingress.triggerCacheTtlMs, maxEntries: 10_000 }),
    });
    const ingress = new IngressService({
      store,
      registry,
      rejections,
      observer,
      clock,
      expressions,
      defaults: {
        maxBodyBytes: config.ingress.maxBodyBytes,
        maxAttempts: config.workers.maxAttempts,
        idempotencyTtlSeconds: config.ingress.idempotencyTtlSeconds,
        maxJsonDepth: config.ingress.maxJsonDepth,
        perIpPerMinute: config.ingress.perIpPerMinute,
        bodyBytesCeiling: bodyBytesCeiling(budget),
      },
      // Accepted webhooks wake idle local workers instead of waiting for the next poll.
      onRunQueued: () => workers?.wake(),
      ...(rateLimits === undefined ? {} : { rateLimits }),
    });
    bulkJobs = new BulkJobs({ store, logger, clock, onRunQueued: () => workers?.wake() });
    shedder = createLoadShedder(config, store, budget);
    server = await buildHttpServer({
      logger,
      store,
      ingress,
      observer,
      workflows,
      workspaceSecrets,
      testRuns: new TestRunService({ store, workflows, clock, engine: stepRunner, keep: config.testRunsKept, maxJsonDepth: config.ingress.maxJsonDepth }),
      metrics,
      adminTokenDigest: currentAdminTokenDigest(store),
      metricsTokenDigest: config.telemetry.metricsToken === undefined ? null : secretDigest(config.telemetry.metricsToken),
      logAcceptedWebhooks: config.telemetry.logAcceptedWebhooks,
      clock,
      trustProxy: config.ingress.trustProxy,
      retryAfterSeconds: config.ingress.retryAfterSeconds,
      readyTimeoutMs: config.readyTimeoutMs,
      timeouts: { requestMs: config.http.requestTimeoutMs, headersMs: config.http.headersTimeoutMs, keepAliveMs: config.http.keepAliveTimeoutMs },
      maxConnections: config.http.maxConnections,
      admission: { shedder, budget, metrics },
      onRunQueued: () => workers?.wake(),
      runWaiter,
      publicUrl: () => publicUrl,
      bulkJobs,
      bulkRatePerSecond: config.bulkRatePerSecond,
      alerts: alerts.service,
      sessions: config.sessions,
      streams: config.streams,
      consoleDir: CONSOLE_DIR,
    });
    await server.listen({ port: config.port, host: config.host, backlog: config.pressure.listenBacklog });
    stats.start();
    const address = server.server.address() as AddressInfo;
    ownEndpoints.push({ address: address.address, port: address.port });
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const listening = `http://${host}:${address.port}`;
    publicUrl = config.publicUrl ?? listening;
    logger.info({ url: listening, storage: store.kind }, 'hookflow listening');
    ops = await startOpsListener({ config, logger, store, metrics });
  }
  for (const loose of findLooseModes(config.dataDir)) {
    logger.warn({ path: loose.path, mode: octal(loose.mode), expected: octal(loose.expected) }, `${loose.path} is open to others than its owner (mode ${octal(loose.mode)}); run chmod ${octal(loose.expected)} on it`);
  }
  if (workers !== null) {
    const pool = workers;
    stopWakeUps = store.onRunQueued?.(() => pool.wake());
    workers.start();
    logger.info({ concurrency: config.workers.concurrency, workerId: workers.workerId }, 'workers started');
  }

  alerts.evaluator.start();
  // Idle footprint: give back start-up's garbage once the process is up.
  const cancelStartupGc = collectStartupGarbage(STARTUP_GC_DELAY_MS);

  let stopping: Promise<void> | null = null;
  return {
    store,
    server,
    workers,
    alerts: alerts.evaluator,
    url: server === null ? null : publicUrl,
    opsUrl: ops?.url ?? null,
    stop() {
      stopping ??= (async () => {
        cancelStartupGc();
        runWaiter.close();
        await bulkJobs?.stop();
        await server?.close();
        await rateLimits?.close();
        await ops?.server.close();
        shedder?.close();
        // The last counts of calls answered before the close, while the store is still open.
        await stats.stop();
        stopWakeUps?.();
        stopChangeNotices?.();
        await workers?.stop();
        await steps?.close();
        await alerts.close();
        await store.close();
      })();
      return stopping;
    },
  };
}
