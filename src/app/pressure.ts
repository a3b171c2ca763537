import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ServerConfig } from '../config/server-config.js';
import { LoadShedder } from '../http/load-shedder.js';
import { buildOpsServer } from '../http/ops-server.js';
import { secretDigest } from '../secrets/constant-time.js';
import type { Store } from '../store/store.js';
import type { Metrics } from '../telemetry/metrics.js';
import { INGEST_BYTES_PER_BODY_BYTE, MemoryBudget } from '../util/memory-budget.js';

/** The process-wide memory budget, with its gauge, from the configuration. */
export function createMemoryBudget(config: ServerConfig, metrics: Metrics): MemoryBudget {
  const budget = new MemoryBudget({ limitBytes: config.pressure.memoryBudgetBytes });
  metrics.watchMemoryBudget(() => budget.usedBytes);
  return budget;
}

/** Largest webhook body the budget can hold while it is received and stored. */
export function bodyBytesCeiling(budget: MemoryBudget): number {
  return Math.floor(budget.limitBytes / INGEST_BYTES_PER_BODY_BYTE);
}

/** Admission control of the webhook route, from the configuration. */
export function createLoadShedder(config: ServerConfig, store: Store, budget: MemoryBudget): LoadShedder {
  return new LoadShedder({
    maxEventLoopDelayMs: config.pressure.shedEventLoopDelayMs,
    maxPendingWrites: config.pressure.shedPendingWrites,
    pendingWrites: () => store.pendingWrites().queued,
    budget,
  });
}

/** Starts the operations listener when HOOKFLOW_OPS_PORT is set; null otherwise. */
export async function startOpsListener(options: { config: ServerConfig; logger: Logger; store: Store; metrics: Metrics }): Promise<{ server: FastifyInstance; url: string } | null> {
  const { config } = options;
  if (config.pressure.opsPort === undefined) return null;
  const server = await buildOpsServer({ logger: options.logger, store: options.store, metrics: options.metrics, retryAfterSeconds: config.ingress.retryAfterSeconds, readyTimeoutMs: config.readyTimeoutMs,
    // The ops port serves /metrics too: the same token guards it.
    metricsTokenDigest: config.telemetry.metricsToken === undefined ? null : secretDigest(config.telemetry.metricsToken),
  });
  await server.listen({ port: config.pressure.opsPort, host: config.host });
  const address = server.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  options.logger.info({ url }, 'operations listener (healthz, readyz, metrics) listening');
  return { server, url };
}
