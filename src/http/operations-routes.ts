import type { FastifyInstance } from 'fastify';
import type { Store } from '../store/store.js';
import type { Metrics } from '../telemetry/metrics.js';

/** `/healthz` (process alive), `/readyz` (storage answers), `/metrics` (Prometheus). */
export async function operationsRoutes(app: FastifyInstance, options: { store: Store; metrics: Metrics; retryAfterSeconds: number }): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    try {
      await options.store.ping();
      return { status: 'ready', storage: options.store.kind };
    } catch {
      return reply.code(503).header('retry-after', String(options.retryAfterSeconds)).send({ status: 'unavailable', storage: options.store.kind });
    }
  });
  app.get('/metrics', async (_request, reply) =>
    reply.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics()),
  );
}
