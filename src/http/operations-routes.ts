import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Store } from '../store/store.js';
import type { Metrics } from '../telemetry/metrics.js';
import { HookflowError } from '../errors/catalogue.js';
import { matchesAnyDigest } from '../secrets/constant-time.js';

export interface OperationsRoutesOptions {
  store: Store;
  metrics: Metrics;
  retryAfterSeconds: number;
  /** SHA-256 of HOOKFLOW_METRICS_TOKEN: `/metrics` then needs it as a bearer token; null = open. */
  metricsTokenDigest: Buffer | null;
  /** How long the /readyz probe write may take, ms. */
  readyTimeoutMs: number;
}

/**
 * `/healthz` (process alive), `/readyz` (a webhook could be committed now: a real probe write
 * commits in time and the writer is not behind its limit; 503 names the cause), `/metrics`.
 */
export async function operationsRoutes(app: FastifyInstance, options: OperationsRoutesOptions): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const readiness = await options.store.readiness(options.readyTimeoutMs);
    if (readiness.ready) return { status: 'ready', storage: options.store.kind };
    return reply.code(503).header('retry-after', String(options.retryAfterSeconds)).send({ status: 'unavailable', storage: options.store.kind, reason: readiness.reason });
  });
  // A constant-time bearer check against the metrics token's digest (the management API's tokens do not open it).
  const digest = options.metricsTokenDigest;
  const metricsAuth = digest === null ? undefined : async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization;
    const token = typeof header === 'string' && /^bearer\s+/i.test(header) ? header.replace(/^bearer\s+/i, '').trim() : undefined;
    if (token === undefined || !matchesAnyDigest(token, [digest])) throw new HookflowError('HOOKFLOW_ERR_UNAUTHORIZED');
  };
  app.get('/metrics', { ...(metricsAuth === undefined ? {} : { onRequest: metricsAuth }) }, async (_request, reply) =>
    reply.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics()),
  );
}
