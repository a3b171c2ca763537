import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { matchesAnyDigest, secretDigest } from '../secrets/constant-time.js';
import type { Store } from '../store/store.js';
import { ADMIN_PRINCIPAL, type AccessService, type Principal } from './access-service.js';

/** Options of SessionService. */
export interface SessionServiceOptions {
  store: Store;
  access: AccessService;
  /** The admin token's SHA-256 as the database records it now (null: none), read per call. */
  adminTokenDigest: () => Promise<Buffer | null>;
  clock: () => number;
  /** A session unused this long ends, ms. */
  idleMs: number;
  /** A session ends this long after sign-in, ms. */
  maxMs: number;
}

/** A session as its holder sees it. */
export interface OpenSession {
  principal: Principal;
  /** Sent back in `x-csrf-token` on every cookie-authenticated write. */
  csrfToken: string;
  /** When the session ends at the latest (epoch ms). */
  expiresAt: number;
}

/** Longest a session's last use goes unrecorded, ms: one write a minute per session at most. */
const TOUCH_EVERY_MS = 60_000;

const digestHex = (sessionId: string): string => secretDigest(sessionId).toString('hex');

/**
 * Console sessions: a token (admin or API) exchanged for a random session id the browser keeps in
 * an HttpOnly cookie. The store keeps only the id's SHA-256, so a leaked database opens no session.
 * The session carries the token's role and workspace; revoking the token ends its sessions (store).
 * The CSRF token is an HMAC of the session id: only the cookie's holder can know it, nothing to store.
 */
export class SessionService {
  constructor(private readonly options: SessionServiceOptions) {}

  /** The principal a bearer token stands for (the admin token or an unrevoked API token), or null. */
  async authenticateToken(token: string): Promise<Principal | null> {
    const admin = await this.options.adminTokenDigest();
    if (admin !== null && matchesAnyDigest(token, [admin])) return ADMIN_PRINCIPAL;
    return this.options.access.authenticate(token);
  }

  /** Opens a session for `token`; null when the token is wrong. The id is for the cookie only. */
  async open(token: string): Promise<{ sessionId: string; session: OpenSession } | null> {
    const principal = await this.authenticateToken(token);
    if (principal === null) return null;
    const now = this.options.clock();
    const sessionId = randomBytes(32).toString('base64url');
    const expiresAt = now + this.options.maxMs;
    await this.options.store.createSession({
      digestHex: digestHex(sessionId),
      tokenId: principal === ADMIN_PRINCIPAL ? null : principal.actorId,
      actorId: principal.actorId,
      actorName: principal.actorName,
      role: principal.role,
      workspaceId: principal.workspaceId,
      createdAt: now,
      lastSeenAt: now,
      expiresAt,
    });
    return { sessionId, session: { principal, csrfToken: this.csrfTokenOf(sessionId), expiresAt } };
  }

  /** The live session with this id, or null (unknown, signed out, idle too long, past its end, token revoked). */
  async resolve(sessionId: string): Promise<OpenSession | null> {
    const digest = digestHex(sessionId);
    const record = await this.options.store.findSessionByDigest(digest);
    if (record === null) return null;
    const now = this.options.clock();
    if (now >= record.expiresAt || now - record.lastSeenAt >= this.options.idleMs) {
      await this.options.store.deleteSession(digest);
      return null;
    }
    if (now - record.lastSeenAt >= Math.min(TOUCH_EVERY_MS, this.options.idleMs / 10)) await this.options.store.touchSession(digest, now);
    return {
      principal: { actorId: record.actorId, actorName: record.actorName, role: record.role, workspaceId: record.workspaceId },
      csrfToken: this.csrfTokenOf(sessionId),
      expiresAt: Math.min(record.expiresAt, now + this.options.idleMs),
    };
  }

  /** Ends the session; false when there was none. */
  close(sessionId: string): Promise<boolean> {
    return this.options.store.deleteSession(digestHex(sessionId));
  }

  /** True when `presented` is the CSRF token of the session `sessionId` (constant time). */
  checkCsrf(sessionId: string, presented: string): boolean {
    const expected = Buffer.from(this.csrfTokenOf(sessionId));
    const given = Buffer.from(presented);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private csrfTokenOf(sessionId: string): string {
    return createHmac('sha256', sessionId).update('hookflow-csrf').digest('base64url');
  }
}
