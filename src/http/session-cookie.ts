import type { FastifyReply, FastifyRequest } from 'fastify';

/** The console's session cookie (http/session-routes.ts). */
export const SESSION_COOKIE = 'hookflow_session';

/** The session id in the request's cookie, if any. */
export function sessionIdOf(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === SESSION_COOKIE && value.length > 0) return value.join('=');
  }
  return undefined;
}

/**
 * Sets (or, with `maxAgeSeconds` 0, clears) the session cookie: HttpOnly (no script reads it),
 * SameSite=Strict (no other site's page sends it), and Secure when the request came over HTTPS
 * (`x-forwarded-proto` counts only from trusted proxies: HOOKFLOW_TRUST_PROXY).
 */
export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, sessionId: string, maxAgeSeconds: number): void {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  void reply.header('set-cookie', `${SESSION_COOKIE}=${sessionId}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`);
}
