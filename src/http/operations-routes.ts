import type { FastifyInstance } from 'fastify';
import type { Store } from '../store/store.js';
import type { Metrics } from '../telemetry/metrics.js';

/**
 * `/healthz` (process alive), `/readyz` (a webhook could be committed now: a real probe write
 * commits in time and the writer is not behind its limit; 503 names the cause), `/metrics`.
 */
export async function operationsRoutes(app: FastifyInstance, options: { store: Store; metrics: Metrics; retryAfterSeconds: number; readyTimeoutMs: number }): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const readiness = await options.store.readiness(options.readyTimeoutMs);
    if (readiness.ready) return { status: 'ready', storage: options.store.kind };
    return reply.code(503).header('retry-after', String(options.retryAfterSeconds)).send({ status: 'unavailable', storage: options.store.kind, reason: readiness.reason });
  });
  app.get('/metrics', async (_request, reply) =>
    reply.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics()),
  );
}
