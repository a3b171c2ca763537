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
}

/** `/healthz` (process alive), `/readyz` (storage answers), `/metrics` (Prometheus). */
export async function operationsRoutes(app: FastifyInstance, options: OperationsRoutesOptions): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    try {
      await options.store.ping();
      return { status: 'ready', storage: options.store.kind };
    } catch {
      return reply.code(503).header('retry-after', String(options.retryAfterSeconds)).send({ status: 'unavailable', storage: options.store.kind });
    }
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
