import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, constants, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { masterKeyFromBase64, type MasterKey } from './cipher.js';

/** File in the data dir holding the generated master key (base64, mode 0600). */
export const MASTER_KEY_FILE = 'master.key';

/** The master key in use, without creating one: from the env, else the data dir, else null. */
export function findMasterKey(options: { dataDir: string; fromEnv: string | undefined }): { key: MasterKey; source: 'env' | 'file' } | null {
  if (options.fromEnv !== undefined) return { key: masterKeyFromBase64(options.fromEnv), source: 'env' };
  const path = join(options.dataDir, MASTER_KEY_FILE);
  return existsSync(path) ? { key: masterKeyFromBase64(readFileSync(path, 'utf8')), source: 'file' } : null;
}

/** File beside it holding the key a rotation replaced (`hookflow keys rotate-master`). */
export const PREVIOUS_MASTER_KEY_FILE = `${MASTER_KEY_FILE}.previous`;

/**
 * The key a rotation replaced, if its file is still there. Kept for decryption only: a secret
 * written under it after the rotation (by a process that still ran with it) stays readable,
 * and running the rotation again re-encrypts it.
 */
export function findPreviousMasterKey(dataDir: string): MasterKey | null {
  const path = join(dataDir, PREVIOUS_MASTER_KEY_FILE);
  return existsSync(path) ? masterKeyFromBase64(readFileSync(path, 'utf8')) : null;
}

/**
 * Replaces the generated key file with `next` (write, fsync, rename: never half a key); the old
 * key is kept beside it as `master.key.previous` until the operator deletes it.
 */
export function replaceMasterKeyFile(dataDir: string, nextBase64: string): void {
  const path = join(dataDir, MASTER_KEY_FILE);
  const staged = `${path}.next`;
  const fd = openSync(staged, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600);
  try {
    writeSync(fd, `${nextBase64.trim()}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  copyFileSync(path, join(dataDir, PREVIOUS_MASTER_KEY_FILE));
  chmodSync(join(dataDir, PREVIOUS_MASTER_KEY_FILE), 0o600);
  renameSync(staged, path);
}

export interface LoadedMasterKey {
  key: MasterKey;
  /** True when this call generated the key (first start in an empty data dir). */
  generated: boolean;
}

/**
 * Returns the master key: from `HOOKFLOW_MASTER_KEY` when set, else from the data dir, else a new
 * one written there with mode 0600 (created exclusively, so two processes starting together
 * cannot each write a different key).
 */
export function loadOrCreateMasterKey(options: { dataDir: string; fromEnv: string | undefined }): LoadedMasterKey {
  if (options.fromEnv !== undefined) return { key: masterKeyFromBase64(options.fromEnv), generated: false };
  const path = join(options.dataDir, MASTER_KEY_FILE);
  if (existsSync(path)) return { key: masterKeyFromBase64(readFileSync(path, 'utf8')), generated: false };
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const base64 = randomBytes(32).toString('base64');
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      return { key: masterKeyFromBase64(readFileSync(path, 'utf8')), generated: false };
    }
    throw error;
  }
  try {
    writeSync(fd, `${base64}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return { key: masterKeyFromBase64(base64), generated: true };
}
