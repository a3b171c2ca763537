import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { RESOURCE_ID } from '../config/workflow-definition.js';
import { HookflowError } from '../errors/catalogue.js';
import type { AccessService } from '../workflows/access-service.js';
import { principalOf } from './access-control.js';
import { installJsonBodyParsers } from './json-body.js';
import { pageQuery, parseQuery } from './management-routes.js';

/** The query of `GET /api/audit`. */
export const auditQuery = pageQuery.extend({ workspaceId: z.string().regex(RESOURCE_ID).optional() });

/** `/api/tokens` (create, list, revoke API tokens) and `/api/audit` (the audit log). Admin role (access-control.ts). */
export async function accessRoutes(app: FastifyInstance, options: { access: AccessService }): Promise<void> {
  const { access } = options;
  installJsonBodyParsers(app);

  app.post('/api/tokens', async (request, reply) => reply.code(201).send(await access.createToken(request.body, principalOf(request))));
  app.get('/api/tokens', async (request) => {
    const query = parseQuery(pageQuery, request.query);
    return access.listTokens(principalOf(request), { limit: query.limit, cursor: query.cursor });
  });
  app.delete<{ Params: { id: string } }>('/api/tokens/:id', async (request, reply) => {
    if (!RESOURCE_ID.test(request.params.id)) throw new HookflowError('HOOKFLOW_ERR_NOT_FOUND', 'No such token');
    const revoked = await access.revokeToken(request.params.id, principalOf(request));
    request.auditNote = { workspaceId: revoked.workspaceId };
    return reply.code(204).send();
  });
  app.get('/api/audit', async (request) => {
    const query = parseQuery(auditQuery, request.query);
    return access.listAudit(principalOf(request), { workspaceId: query.workspaceId }, { limit: query.limit, cursor: query.cursor });
  });
}
