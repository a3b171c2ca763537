import type { FastifyRequest } from 'fastify';
import { HookflowError } from '../errors/catalogue.js';
import { matchesAnyDigest } from '../secrets/constant-time.js';

/** Builds the management API's bearer check against the admin token's SHA-256 digest. */
export function adminBearerAuth(tokenDigest: Buffer): (request: FastifyRequest) => Promise<void> {
  return async function requireAdmin(request) {
    const header = request.headers.authorization;
    const token = typeof header === 'string' && /^bearer\s+/i.test(header) ? header.replace(/^bearer\s+/i, '').trim() : undefined;
    if (token === undefined || !matchesAnyDigest(token, [tokenDigest])) throw new HookflowError('HOOKFLOW_ERR_UNAUTHORIZED');
  };
}
