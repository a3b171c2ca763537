import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import type { Metrics } from '../telemetry/metrics.js';
import { operationsRoutes } from './operations-routes.js';

/**
 * The operations listener (HOOKFLOW_OPS_PORT): `/healthz`, `/readyz` and `/metrics` on a port
 * of their own. Its connections have their own accept queue and never wait behind thousands of
 * webhook connections, and it has no webhook route to shed — so a load balancer's probe
 * answers fast while the webhook port is saturated (docs/operations.md has the measurements).
 */
export async function buildOpsServer(options: { logger: Logger; store: Store; metrics: Metrics; retryAfterSeconds: number; readyTimeoutMs: number; metricsTokenDigest: Buffer | null }): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger as unknown as FastifyBaseLogger,
    // Probes come every few seconds from every load balancer: not worth an access-log line each.
    logController: new LogController({ disableRequestLogging: true }),
    exposeHeadRoutes: false,
    forceCloseConnections: true,
  });
  await app.register(operationsRoutes, { store: options.store, metrics: options.metrics, retryAfterSeconds: options.retryAfterSeconds, readyTimeoutMs: options.readyTimeoutMs, metricsTokenDigest: options.metricsTokenDigest });
  return app;
}
