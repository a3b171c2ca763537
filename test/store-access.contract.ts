import { describe, expect, it } from 'vitest';
import { newId } from '../src/store/ids.js';
import type { ApiTokenRecord, AuditRecord, SessionRecord, Store } from '../src/store/store.js';

/*
 * The access part of the Store contract (API tokens, audit log), run by describeStoreContract
 * against each adapter on its shared store. Every test makes its own ids and workspace names,
 * and lists narrowed to a fresh workspace, so tests sharing the store never see each other.
 */

const T0 = 4_000_000_000_000;

function token(overrides: Partial<ApiTokenRecord> = {}): ApiTokenRecord {
  return { id: newId('tok'), name: 'ci deploy', role: 'editor', workspaceId: newId('ws'), digestHex: newId('digest'), createdAt: T0, revokedAt: null, ...overrides };
}

function audit(overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    id: newId('aud'), at: T0, actorId: 'admin', actorName: 'admin', action: 'workflow.update', workspaceId: newId('ws'),
    target: '/api/workspaces/shop/workflows/orders', sourceIp: '203.0.113.9', details: { method: 'PUT', status: 200, version: 2 }, ...overrides,
  };
}

function session(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    digestHex: newId('sess'), tokenId: null, actorId: 'admin', actorName: 'admin', role: 'admin', workspaceId: null,
    createdAt: T0, lastSeenAt: T0, expiresAt: T0 + 3_600_000, ...overrides,
  };
}

export function describeAccessContract(store: () => Store): void {
  describe('console sessions', () => {
    it('stores a session, finds it by digest, records its use and deletes it once', async () => {
      const record = session({ role: 'viewer', workspaceId: newId('ws'), actorId: 'tok_x', actorName: 'ops' });
      await store().createSession(record);
      expect(await store().findSessionByDigest(record.digestHex)).toEqual(record);
      await store().touchSession(record.digestHex, T0 + 5000);
      expect((await store().findSessionByDigest(record.digestHex))?.lastSeenAt).toBe(T0 + 5000);
      expect(await store().deleteSession(record.digestHex)).toBe(true);
      expect(await store().deleteSession(record.digestHex)).toBe(false);
      expect(await store().findSessionByDigest(record.digestHex)).toBeNull();
    });

    it('ends every session of a token when the token is revoked, and no other', async () => {
      const revoked = token();
      const kept = token();
      await store().createApiToken(revoked);
      await store().createApiToken(kept);
      const ofRevoked = [session({ tokenId: revoked.id }), session({ tokenId: revoked.id })];
      const ofKept = session({ tokenId: kept.id });
      for (const s of [...ofRevoked, ofKept]) await store().createSession(s);
      expect(await store().revokeApiToken(revoked.id, T0 + 1)).toBe(true);
      for (const s of ofRevoked) expect(await store().findSessionByDigest(s.digestHex)).toBeNull();
      expect(await store().findSessionByDigest(ofKept.digestHex)).toEqual(ofKept);
    });

    it('drops sessions past their absolute end when a new one is stored', async () => {
      const old = session({ createdAt: T0 - 10_000, lastSeenAt: T0 - 10_000, expiresAt: T0 - 1 });
      await store().createSession(old);
      await store().createSession(session({ createdAt: T0 }));
      expect(await store().findSessionByDigest(old.digestHex)).toBeNull();
    });
  });

  describe('API tokens', () => {
    it('stores a token and finds it by id and by digest; unknown ones are null', async () => {
      const record = token();
      await store().createApiToken(record);
      expect(await store().getApiToken(record.id)).toEqual(record);
      expect(await store().findApiTokenByDigest(record.digestHex)).toEqual(record);
      expect(await store().findApiTokenByDigest(newId('digest'))).toBeNull();
      expect(await store().getApiToken(newId('tok'))).toBeNull();
    });

    it('keeps a token for every workspace as workspaceId null', async () => {
      const record = token({ workspaceId: null, role: 'admin' });
      await store().createApiToken(record);
      expect(await store().findApiTokenByDigest(record.digestHex)).toMatchObject({ workspaceId: null, role: 'admin' });
    });

    it('revokes once: the token stays readable with its revocation time', async () => {
      const record = token();
      await store().createApiToken(record);
      expect(await store().revokeApiToken(record.id, T0 + 5)).toBe(true);
      expect(await store().revokeApiToken(record.id, T0 + 9)).toBe(false);
      expect(await store().revokeApiToken(newId('tok'), T0)).toBe(false);
      expect(await store().findApiTokenByDigest(record.digestHex)).toMatchObject({ revokedAt: T0 + 5 });
    });

    it('pages one workspace newest first; the unfiltered list holds them too', async () => {
      const ws = newId('ws');
      const [a, b, c] = [token({ workspaceId: ws, createdAt: T0 + 1 }), token({ workspaceId: ws, createdAt: T0 + 2 }), token({ workspaceId: ws, createdAt: T0 + 3 })];
      for (const t of [a, b, c]) await store().createApiToken(t);
      await store().createApiToken(token());
      const first = await store().listApiTokens({ workspaceId: ws }, { limit: 2 });
      expect(first.items.map((t) => t.id)).toEqual([c.id, b.id]);
      const second = await store().listApiTokens({ workspaceId: ws }, { limit: 2, cursor: first.nextCursor ?? undefined });
      expect(second.items.map((t) => t.id)).toEqual([a.id]);
      expect(second.nextCursor).toBeNull();
      const all = await store().listApiTokens({}, { limit: 500 });
      expect(all.items.map((t) => t.id)).toEqual(expect.arrayContaining([a.id, b.id, c.id]));
    });
  });

  describe('audit log', () => {
    it('appends entries and pages them newest first, narrowed to a workspace', async () => {
      const ws = newId('ws');
      const entries = [audit({ workspaceId: ws, at: T0 + 1 }), audit({ workspaceId: ws, at: T0 + 2, action: 'workflow.key.reveal', actorId: 'tok_1', actorName: 'ci' }), audit({ workspaceId: ws, at: T0 + 3 })];
      for (const entry of entries) await store().appendAudit(entry);
      await store().appendAudit(audit());
      const first = await store().listAudit({ workspaceId: ws }, { limit: 2 });
      expect(first.items).toEqual([entries[2], entries[1]]);
      const second = await store().listAudit({ workspaceId: ws }, { limit: 2, cursor: first.nextCursor ?? undefined });
      expect(second.items).toEqual([entries[0]]);
      expect(second.nextCursor).toBeNull();
    });

    it('keeps entries without a workspace and lists them unfiltered', async () => {
      const entry = audit({ workspaceId: null, action: 'token.create', at: T0 + 10_000 });
      await store().appendAudit(entry);
      const all = await store().listAudit({}, { limit: 500 });
      expect(all.items).toContainEqual(entry);
    });
  });
}
