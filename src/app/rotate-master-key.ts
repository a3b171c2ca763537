import type { Logger } from 'pino';
import type { ServerConfig } from '../config/server-config.js';
import { HookflowError } from '../errors/catalogue.js';
import { masterKeyFromBase64, SecretCipher, type MasterKey } from '../secrets/cipher.js';
import { findMasterKey, replaceMasterKeyFile } from '../secrets/master-key-file.js';
import { openStore } from '../store/open-store.js';
import { secretAssociatedData } from '../workflows/secret-purposes.js';

/**
 * Re-encrypts every secret under a new master key in one transaction. Secrets already under
 * the new key are left alone, so an interrupted rotation can simply be run again.
 */
export async function rotateMasterKey(options: { config: ServerConfig; newKeyBase64: string; logger: Logger }): Promise<{ count: number; keyFileReplaced: boolean }> {
  const found = findMasterKey({ dataDir: options.config.dataDir, fromEnv: options.config.masterKeyBase64 });
  if (found === null) {
    throw new HookflowError('HOOKFLOW_ERR_CONFIG', `No master key in ${options.config.dataDir} and HOOKFLOW_MASTER_KEY is not set: nothing to rotate (is HOOKFLOW_DATA_DIR right?)`);
  }
  const current = found.key;
  let next: MasterKey;
  try {
    next = masterKeyFromBase64(options.newKeyBase64);
  } catch (cause) {
    throw new HookflowError('HOOKFLOW_ERR_CONFIG', '--new-key must be base64 of exactly 32 bytes (e.g. `openssl rand -base64 32`)', { cause });
  }
  const cipher = new SecretCipher(next, [current]);
  const store = await openStore(options.config);
  try {
    const secrets = await store.listAllSecrets();
    const updates = secrets
      .filter((secret) => SecretCipher.keyIdOf(secret.ciphertext) !== next.id)
      .map((secret) => ({ id: secret.id, ciphertext: cipher.encrypt(cipher.decrypt(secret.ciphertext, secretAssociatedData(secret)), secretAssociatedData(secret)) }));
    await store.reencryptSecrets(updates);
    // A generated key file is replaced only after every secret is re-encrypted under the new key.
    const keyFileReplaced = found.source === 'file';
    if (keyFileReplaced) replaceMasterKeyFile(options.config.dataDir, options.newKeyBase64);
    options.logger.info({ count: updates.length, keyId: next.id, keyFileReplaced }, 'master key rotated');
    return { count: updates.length, keyFileReplaced };
  } finally {
    await store.close();
  }
}
