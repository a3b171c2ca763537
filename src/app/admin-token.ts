import { HookflowError } from '../errors/catalogue.js';
import { adminTokenDigestHex, generateAdminToken, readLegacyAdminTokenDigest } from '../secrets/admin-token.js';
import type { Store } from '../store/store.js';

/** The setting holding the SHA-256 (hex) of the admin token: one per database, so one per cluster. */
export const ADMIN_TOKEN_SETTING = 'admin_token_sha256';

/**
 * Makes sure the database records the admin token's digest, so every node of a cluster accepts
 * the same token without each being given it:
 * - `HOOKFLOW_ADMIN_TOKEN` set: its digest is recorded by the first start; a later start (this
 *   node or another) whose token differs refuses with HOOKFLOW_ERR_CONFIG (exit 2) naming it,
 *   rather than silently replacing the token every other node accepts;
 * - unset: the recorded token stands; with none recorded, the digest an older version kept in
 *   the data dir is carried over, else a new token is generated and returned to be shown once
 *   (only by the node whose record won, when several start at once).
 */
export async function resolveAdminToken(options: { dataDir: string; fromEnv: string | undefined; store: Store }): Promise<{ generated: string | undefined }> {
  const { store } = options;
  const recorded = await store.getSetting(ADMIN_TOKEN_SETTING);
  if (options.fromEnv !== undefined) {
    const digest = adminTokenDigestHex(options.fromEnv);
    const claimed = recorded ?? (await store.claimSetting(ADMIN_TOKEN_SETTING, digest));
    if (claimed !== digest) {
      throw new HookflowError(
        'HOOKFLOW_ERR_CONFIG',
        "HOOKFLOW_ADMIN_TOKEN is not this database's admin token (every node accepts the one the database records): unset it, or set it to the current token (after `hookflow keys rotate-admin`, the one it printed)",
      );
    }
    return { generated: undefined };
  }
  if (recorded !== null) return { generated: undefined };
  const legacy = readLegacyAdminTokenDigest(options.dataDir);
  if (legacy !== null) {
    await store.claimSetting(ADMIN_TOKEN_SETTING, legacy);
    return { generated: undefined };
  }
  const token = generateAdminToken();
  const digest = adminTokenDigestHex(token);
  return { generated: (await store.claimSetting(ADMIN_TOKEN_SETTING, digest)) === digest ? token : undefined };
}

/**
 * The admin token's digest as the database records it now: read on every management call, so a
 * rotation holds on every node at once (the API tokens are looked up the same way).
 */
export function currentAdminTokenDigest(store: Store): () => Promise<Buffer | null> {
  return async () => {
    const hex = await store.getSetting(ADMIN_TOKEN_SETTING);
    return hex === null ? null : Buffer.from(hex, 'hex');
  };
}

/**
 * Replaces the admin token with a new random one and returns it (to show once); the old one stops
 * working on every node, and the console sessions opened with it end.
 */
export async function rotateAdminToken(store: Store): Promise<string> {
  const token = generateAdminToken();
  await store.putSetting(ADMIN_TOKEN_SETTING, adminTokenDigestHex(token));
  await store.endAdminSessions();
  return token;
}
