import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AlertService } from '../alerts/alert-service.js';
import { RESOURCE_ID } from '../config/workflow-definition.js';
import { HookflowError } from '../errors/catalogue.js';
import { installJsonBodyParsers } from './json-body.js';
import { pageOf, pageQuery, parseQuery } from './list-query.js';

type WsParams = { ws: string };
type RuleParams = { ws: string; ruleId: string };
type ChannelParams = { ws: string; channelId: string };

/** `GET …/alerts/history`: a page, optionally of one rule. */
export const alertHistoryQuery = pageQuery.extend({ ruleId: z.string().regex(RESOURCE_ID).optional() });

/**
 * Built-in alerts (docs/api.md, "Alerts"): rules, notification channels, current state and
 * history. Access per route is declared in access-control.ts (viewer reads, editor writes).
 */
export async function alertRoutes(app: FastifyInstance, options: { alerts: AlertService }): Promise<void> {
  const { alerts } = options;
  installJsonBodyParsers(app);
  // Ids in paths have the RESOURCE_ID form; anything else names nothing and never reaches the store.
  app.addHook('preValidation', async (request) => {
    for (const id of Object.values(request.params as Record<string, string>)) {
      if (!RESOURCE_ID.test(id)) throw new HookflowError('HOOKFLOW_ERR_NOT_FOUND', 'No such id');
    }
  });

  app.post<{ Params: WsParams }>('/api/workspaces/:ws/alert-rules', async (request, reply) => reply.code(201).send(await alerts.createRule(request.params.ws, request.body)));
  app.get<{ Params: WsParams }>('/api/workspaces/:ws/alert-rules', async (request) => alerts.listRules(request.params.ws));
  app.get<{ Params: RuleParams }>('/api/workspaces/:ws/alert-rules/:ruleId', async (request) => alerts.getRule(request.params.ws, request.params.ruleId));
  app.patch<{ Params: RuleParams }>('/api/workspaces/:ws/alert-rules/:ruleId', async (request) => alerts.patchRule(request.params.ws, request.params.ruleId, request.body));
  app.delete<{ Params: RuleParams }>('/api/workspaces/:ws/alert-rules/:ruleId', async (request, reply) => {
    await alerts.deleteRule(request.params.ws, request.params.ruleId);
    return reply.code(204).send();
  });

  app.post<{ Params: WsParams }>('/api/workspaces/:ws/alert-channels', async (request, reply) => reply.code(201).send(await alerts.createChannel(request.params.ws, request.body)));
  app.get<{ Params: WsParams }>('/api/workspaces/:ws/alert-channels', async (request) => alerts.listChannels(request.params.ws));
  app.get<{ Params: ChannelParams }>('/api/workspaces/:ws/alert-channels/:channelId', async (request) => alerts.getChannel(request.params.ws, request.params.channelId));
  app.delete<{ Params: ChannelParams }>('/api/workspaces/:ws/alert-channels/:channelId', async (request, reply) => {
    await alerts.deleteChannel(request.params.ws, request.params.channelId);
    return reply.code(204).send();
  });
  app.post<{ Params: ChannelParams }>('/api/workspaces/:ws/alert-channels/:channelId/test', async (request) => alerts.testChannel(request.params.ws, request.params.channelId));

  app.get<{ Params: WsParams }>('/api/workspaces/:ws/alerts', async (request) => alerts.currentAlerts(request.params.ws));
  app.get<{ Params: WsParams }>('/api/workspaces/:ws/alerts/history', async (request) => {
    const query = parseQuery(alertHistoryQuery, request.query);
    return alerts.history(request.params.ws, { ruleId: query.ruleId }, pageOf(query));
  });
}
