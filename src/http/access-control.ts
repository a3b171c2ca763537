import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { Logger } from 'pino';
import { HookflowError } from '../errors/catalogue.js';
import type { TokenRole } from '../store/store.js';
import { ADMIN_PRINCIPAL, roleAtLeast, type AccessService, type Principal } from '../workflows/access-service.js';
import type { SessionService } from '../workflows/session-service.js';
import { sessionIdOf } from './session-cookie.js';

/**
 * What a route needs from its caller. Declared once per route, either in the route's own
 * `config.access` or as a row of ROUTE_ACCESS below; a management route that declares nothing
 * needs the `admin` role (fail closed).
 */
export interface RouteAccess {
  /** The least role that may call the route; `public` needs no token at all. */
  role: TokenRole | 'public';
  /** The route spans workspaces (no `:ws` in its path): a token scoped to one workspace gets 403. */
  allWorkspaces?: boolean;
  /** The audit action a successful call records (mutating methods); default `METHOD /route/url`. */
  audit?: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route (see http/access-control.ts). */
    access?: RouteAccess;
  }
  interface FastifyRequest {
    /** The authenticated caller of a management route. */
    principal?: Principal;
    /**
     * Set by a handler: `action` audits a successful answer that changes nothing (a key reveal);
     * `workspaceId` names the workspace concerned when the path does not (a revoked token's).
     */
    auditNote?: { action?: string; workspaceId?: string | null };
    /** Set when the caller was authenticated by the console's session cookie (not a bearer token). */
    consoleSession?: { id: string; csrfToken: string; expiresAt: number };
  }
}

/**
 * Access of the routes that do not declare `config.access` themselves, by `METHOD url`. A new
 * route either adds a line here or carries `config: { access: … }`.
 */
export const ROUTE_ACCESS: Readonly<Record<string, RouteAccess>> = {
  'POST /api/workspaces': { role: 'editor', allWorkspaces: true, audit: 'workspace.create' },
  'GET /api/workspaces': { role: 'viewer' },
  'GET /api/workspaces/:ws': { role: 'viewer' },
  'POST /api/workspaces/:ws/workflows': { role: 'editor', audit: 'workflow.create' },
  'GET /api/workspaces/:ws/workflows': { role: 'viewer' },
  'GET /api/workspaces/:ws/workflows/:wf': { role: 'viewer' },
  'PUT /api/workspaces/:ws/workflows/:wf': { role: 'editor', audit: 'workflow.update' },
  'PATCH /api/workspaces/:ws/workflows/:wf': { role: 'editor', audit: 'workflow.patch' },
  'DELETE /api/workspaces/:ws/workflows/:wf': { role: 'editor', audit: 'workflow.delete' },
  'GET /api/workspaces/:ws/workflows/:wf/webhook-url': { role: 'viewer' },
  'POST /api/workspaces/:ws/workflows/:wf/keys/rotate': { role: 'editor', audit: 'workflow.key.rotate' },
  'GET /api/workspaces/:ws/workflows/:wf/runs': { role: 'viewer' },
  'GET /api/workspaces/:ws/runs/:runId': { role: 'viewer' },
  'POST /api/workspaces/:ws/runs/:runId/replay': { role: 'editor', audit: 'run.replay' },
  'POST /api/workspaces/:ws/runs/:runId/resume': { role: 'editor', audit: 'run.resume' },
  'POST /api/workspaces/:ws/workflows/:wf/runs/replay': { role: 'editor', audit: 'runs.replay.bulk' },
  'POST /api/workspaces/:ws/workflows/:wf/runs/resume': { role: 'editor', audit: 'runs.resume.bulk' },
  'GET /api/workspaces/:ws/jobs': { role: 'viewer' },
  'GET /api/workspaces/:ws/jobs/:jobId': { role: 'viewer' },
  'POST /api/workspaces/:ws/jobs/:jobId/cancel': { role: 'editor', audit: 'job.cancel' },
  'GET /api/workspaces/:ws/workflows/:wf/events': { role: 'viewer' },
  'GET /api/workspaces/:ws/workflows/:wf/test-runs': { role: 'viewer' },
  'GET /api/workspaces/:ws/test-runs/:testRunId': { role: 'viewer' },
  'GET /api/workspaces/:ws/workflows/:wf/stats': { role: 'viewer' },
  'GET /api/workspaces/:ws/stats': { role: 'viewer' },
  'POST /api/workspaces/:ws/alert-rules': { role: 'editor', audit: 'alert.rule.create' },
  'GET /api/workspaces/:ws/alert-rules': { role: 'viewer' },
  'GET /api/workspaces/:ws/alert-rules/:ruleId': { role: 'viewer' },
  'PATCH /api/workspaces/:ws/alert-rules/:ruleId': { role: 'editor', audit: 'alert.rule.update' },
  'DELETE /api/workspaces/:ws/alert-rules/:ruleId': { role: 'editor', audit: 'alert.rule.delete' },
  'POST /api/workspaces/:ws/alert-channels': { role: 'editor', audit: 'alert.channel.create' },
  'GET /api/workspaces/:ws/alert-channels': { role: 'viewer' },
  'GET /api/workspaces/:ws/alert-channels/:channelId': { role: 'viewer' },
  'DELETE /api/workspaces/:ws/alert-channels/:channelId': { role: 'editor', audit: 'alert.channel.delete' },
  'POST /api/workspaces/:ws/alert-channels/:channelId/test': { role: 'editor', audit: 'alert.channel.test' },
  'GET /api/workspaces/:ws/alerts': { role: 'viewer' },
  'GET /api/workspaces/:ws/alerts/history': { role: 'viewer' },
  'PUT /api/workspaces/:ws/llm-budget': { role: 'editor', audit: 'workspace.llm_budget' },
  'POST /api/tokens': { role: 'admin', audit: 'token.create' },
  'GET /api/tokens': { role: 'admin' },
  'DELETE /api/tokens/:id': { role: 'admin', audit: 'token.revoke' },
  'GET /api/audit': { role: 'admin' },
  'GET /api/openapi.json': { role: 'public' },
};

/**
 * Routes being added by other work, by path, until they declare their own access: workspace
 * secrets and test runs are an editor's (docs/api.md, roles).
 */
const PATH_ACCESS: readonly [RegExp, RouteAccess][] = [
  [/^\/api\/workspaces\/:ws\/secrets(?:\/|$)/, { role: 'editor' }],
  [/^\/api\/workspaces\/:ws\/workflows\/:wf\/test-runs(?:\/|$)/, { role: 'editor' }],
];

/** Routes outside the management API: the webhook endpoints (`/api/webhook/`, `-test/`, `-status/`…), keyed by their own triggers. */
const UNMANAGED = /^\/api\/webhook(?:-[a-z]+)?\//;
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The access a route gets: its own declaration, its ROUTE_ACCESS row, admin for other `/api/` routes, none elsewhere. */
export function accessOf(route: Pick<RouteOptions, 'method' | 'url' | 'config'>): RouteAccess | undefined {
  const method = Array.isArray(route.method) ? route.method[0] : route.method;
  const declared = route.config?.access ?? ROUTE_ACCESS[`${method} ${route.url}`] ?? PATH_ACCESS.find(([path]) => path.test(route.url))?.[1];
  if (declared !== undefined) return declared;
  return route.url.startsWith('/api/') && !UNMANAGED.test(route.url) ? { role: 'admin' } : undefined;
}

/** Throws 403 unless the caller has `role` or above (for checks that depend on the request, e.g. `?reveal=true`). */
export function requireRole(request: FastifyRequest, role: TokenRole): Principal {
  const principal = request.principal;
  if (principal === undefined || !roleAtLeast(principal.role, role)) throw new HookflowError('HOOKFLOW_ERR_FORBIDDEN_ROLE', `Needs the ${role} role`);
  return principal;
}

/** The authenticated caller; routes under access control always have one. */
export function principalOf(request: FastifyRequest): Principal {
  return request.principal ?? ADMIN_PRINCIPAL;
}

/** The token of an `Authorization: Bearer …` header, if any. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  return typeof header === 'string' && /^bearer\s+/i.test(header) ? header.replace(/^bearer\s+/i, '').trim() : undefined;
}

/**
 * Installs the one place where management calls are authorised and audited. Call on the root
 * instance before any route is registered:
 * - every route gets its access (see accessOf) into `config.access` as it is added;
 * - `onRequest`: the bearer token is the admin token or an unrevoked API token, or else the
 *   console's session cookie names a live session (else 401), whose writes must carry its CSRF
 *   token in `x-csrf-token` (else 403); the caller's role must reach the route's (else 403); a
 *   workspace-scoped caller reaches only its workspace (another workspace's URL answers 404, as
 *   if it did not exist) and no cross-workspace route (403);
 * - `onSend`: a successful change (POST/PUT/PATCH/DELETE), or a call a handler marked with
 *   `auditNote.action`, is written to the audit log before the answer leaves: who, what, which
 *   target, from which address, and only ids/version/status from the answer, never a secret.
 */
export function installAccessControl(app: FastifyInstance, options: { sessions: SessionService; access: AccessService; logger: Logger }): void {
  app.addHook('onRoute', (route) => {
    const access = accessOf(route);
    if (access !== undefined) route.config = { ...route.config, access };
  });

  // Callback hooks, not async ones: they run for every request, webhooks included, and those
  // (no `access`) must pass at once without a promise.
  app.addHook('onRequest', (request, _reply, done) => {
    const access = request.routeOptions.config.access;
    if (access === undefined || access.role === 'public') return done();
    authorize(request, { ...access, role: access.role }).then(() => done(), done);
  });

  async function authorize(request: FastifyRequest, access: RouteAccess & { role: TokenRole }): Promise<void> {
    const token = bearerToken(request);
    const principal = token === undefined ? await sessionPrincipal(request) : await options.sessions.authenticateToken(token);
    if (principal === null) throw new HookflowError('HOOKFLOW_ERR_UNAUTHORIZED');
    request.principal = principal;
    if (principal.workspaceId !== null) {
      const ws = (request.params as Record<string, string | undefined>)['ws'];
      if (ws !== undefined && ws !== principal.workspaceId) throw new HookflowError('HOOKFLOW_ERR_NOT_FOUND', `Workspace "${ws}" not found`);
      if (access.allWorkspaces === true) throw new HookflowError('HOOKFLOW_ERR_FORBIDDEN_ROLE', 'Needs a token for every workspace');
    }
    requireRole(request, access.role);
  }

  /** The principal of the request's session cookie (its writes checked for the CSRF token), or null. */
  async function sessionPrincipal(request: FastifyRequest): Promise<Principal | null> {
    const id = sessionIdOf(request);
    if (id === undefined) return null;
    const session = await options.sessions.resolve(id);
    if (session === null) return null;
    const csrf = request.headers['x-csrf-token'];
    if (MUTATING.has(request.method) && (typeof csrf !== 'string' || !options.sessions.checkCsrf(id, csrf))) {
      throw new HookflowError('HOOKFLOW_ERR_CSRF');
    }
    request.consoleSession = { id, csrfToken: session.csrfToken, expiresAt: session.expiresAt };
    return session.principal;
  }

  app.addHook('onSend', (request, reply, payload, done) => {
    if (request.principal === undefined || reply.statusCode >= 400) return done(null, payload);
    audit(request, reply, payload).then(() => done(null, payload), (error: Error) => done(error));
  });

  async function audit(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<void> {
    const principal = request.principal as Principal;
    const access = request.routeOptions.config.access;
    const action = request.auditNote?.action ?? (MUTATING.has(request.method) ? (access?.audit ?? `${request.method} ${request.routeOptions.url ?? ''}`) : undefined);
    if (action === undefined) return;
    const answer = answerFacts(reply.statusCode, payload);
    const params = request.params as Record<string, string | undefined>;
    // A created workspace is its own workspace; a created token names the one it is for.
    const createdWorkspace = request.routeOptions.url === '/api/workspaces' ? answer.id : undefined;
    try {
      await options.access.recordAudit({
        actorId: principal.actorId,
        actorName: principal.actorName,
        action,
        workspaceId: params['ws'] ?? createdWorkspace ?? answer.workspaceId ?? request.auditNote?.workspaceId ?? principal.workspaceId,
        target: request.url.split('?', 1)[0] ?? request.url,
        sourceIp: request.ip,
        details: {
          method: request.method,
          status: reply.statusCode,
          ...(answer.id === undefined ? {} : { id: answer.id }),
          ...(answer.version === undefined ? {} : { version: answer.version }),
        },
      });
    } catch (error) {
      // The change is made and cannot be taken back: the failed audit write is logged loudly.
      options.logger.error({ err: error, action, actor: principal.actorId }, 'could not write the audit log');
    }
  }
}

/** Ids and version from a JSON answer (only those: the answer of a token create holds the token). */
function answerFacts(status: number, payload: unknown): { id?: string; workspaceId?: string; version?: number } {
  if (typeof payload !== 'string' || status === 204) return {};
  try {
    const body = JSON.parse(payload) as Record<string, unknown>;
    return {
      ...(typeof body['id'] === 'string' ? { id: body['id'] } : {}),
      ...(typeof body['workspaceId'] === 'string' ? { workspaceId: body['workspaceId'] } : {}),
      ...(typeof body['version'] === 'number' ? { version: body['version'] } : {}),
    };
  } catch {
    return {};
  }
}
