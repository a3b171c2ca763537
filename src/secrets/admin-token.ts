import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { secretDigest } from './constant-time.js';

/**
 * File in the data dir where versions before the database held the admin token kept its SHA-256
 * (hex). Read once, to carry that token over into the database; never written any more.
 */
export const ADMIN_TOKEN_FILE = 'admin-token.sha256';

/** A new random admin token (shown once; only its digest is kept). */
export function generateAdminToken(): string {
  return `hf_admin_${randomBytes(24).toString('base64url')}`;
}

/** The SHA-256 (hex) under which an admin token is recorded. */
export function adminTokenDigestHex(token: string): string {
  return secretDigest(token).toString('hex');
}

/** The digest an older version left in the data dir, or null. */
export function readLegacyAdminTokenDigest(dataDir: string): string | null {
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  if (!existsSync(path)) return null;
  const hex = readFileSync(path, 'utf8').trim();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : null;
}
