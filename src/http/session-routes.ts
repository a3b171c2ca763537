import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { HookflowError } from '../errors/catalogue.js';
import type { Principal } from '../workflows/access-service.js';
import type { OpenSession, SessionService } from '../workflows/session-service.js';
import { principalOf } from './access-control.js';
import { installJsonBodyParsers } from './json-body.js';
import { setSessionCookie } from './session-cookie.js';

/** The body of `POST /api/session`. */
export const sessionBody = z.object({ token: z.string().min(1).max(1000) }).strict();

/**
 * `/api/session`: the console signs in by exchanging a token for a session cookie (POST), reads
 * who it is and its CSRF token (GET), and signs out (DELETE). The token travels once, in the
 * body; the browser keeps only the HttpOnly cookie, never the token.
 */
export async function sessionRoutes(app: FastifyInstance, options: { sessions: SessionService; maxMs: number }): Promise<void> {
  const { sessions } = options;
  installJsonBodyParsers(app);

  app.post('/api/session', { config: { access: { role: 'public' } } }, async (request, reply) => {
    const parsed = sessionBody.safeParse(request.body ?? {});
    if (!parsed.success) throw new HookflowError('HOOKFLOW_ERR_VALIDATION', 'Invalid request', { details: ['token: the admin token or an API token'] });
    const opened = await sessions.open(parsed.data.token);
    if (opened === null) throw new HookflowError('HOOKFLOW_ERR_UNAUTHORIZED', 'Unknown or revoked token');
    // Audited as the token's holder (access-control.ts writes the entry for a request with a principal).
    request.principal = opened.session.principal;
    request.auditNote = { action: 'session.open' };
    setSessionCookie(request, reply, opened.sessionId, Math.floor(options.maxMs / 1000));
    return reply.code(201).send(sessionView(opened.session.principal, opened.session));
  });

  app.get('/api/session', { config: { access: { role: 'viewer' } } }, async (request) => {
    // A bearer call has no session: no CSRF token, no end.
    return sessionView(principalOf(request), request.consoleSession ?? null);
  });

  app.delete('/api/session', { config: { access: { role: 'viewer', audit: 'session.close' } } }, async (request, reply) => {
    const session = request.consoleSession;
    if (session !== undefined) await sessions.close(session.id);
    setSessionCookie(request, reply, '', 0);
    return reply.code(204).send();
  });
}

/** Who the caller is, and its session's CSRF token and end (null without a session). */
function sessionView(principal: Principal, session: Pick<OpenSession, 'csrfToken' | 'expiresAt'> | null): Record<string, unknown> {
  return {
    actor: { id: principal.actorId, name: principal.actorName },
    role: principal.role,
    workspaceId: principal.workspaceId,
    csrfToken: session?.csrfToken ?? null,
    expiresAt: session === null ? null : new Date(session.expiresAt).toISOString(),
  };
}
