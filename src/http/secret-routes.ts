import type { FastifyInstance } from 'fastify';
import { HookflowError } from '../errors/catalogue.js';
import { SECRET_NAME, type WorkspaceSecretService } from '../workflows/workspace-secrets.js';
import { pageOf, pageQuery, parseQuery } from './list-query.js';

type SecretParams = { ws: string; name: string };

/**
 * Workspace secrets (docs/secrets.md). Added to the management API's own scope (see
 * managementRoutes), so they sit behind the same authentication and id checks.
 */
export function secretRoutes(app: FastifyInstance, secrets: WorkspaceSecretService): void {
  app.put<{ Params: SecretParams }>('/api/workspaces/:ws/secrets/:name', async (request, reply) => {
    const { created, secret } = await secrets.put(request.params.ws, request.params.name, request.body);
    return reply.code(created ? 201 : 200).send(secret);
  });
  app.get<{ Params: { ws: string } }>('/api/workspaces/:ws/secrets', async (request) =>
    secrets.list(request.params.ws, pageOf(parseQuery(pageQuery, request.query))),
  );
  app.delete<{ Params: SecretParams }>('/api/workspaces/:ws/secrets/:name', async (request, reply) => {
    if (!SECRET_NAME.test(request.params.name)) throw new HookflowError('HOOKFLOW_ERR_NOT_FOUND', 'No such secret');
    await secrets.delete(request.params.ws, request.params.name);
    return reply.code(204).send();
  });
}
