import type { Logger } from 'pino';
import type { ServerConfig } from '../config/server-config.js';
import { masterKeyFromBase64, SecretCipher } from '../secrets/cipher.js';
import { loadOrCreateMasterKey } from '../secrets/master-key-file.js';
import { openStore } from '../store/open-store.js';
import { secretAssociatedData } from '../workflows/secret-purposes.js';

/**
 * Re-encrypts every secret under a new master key in one transaction. Secrets already under
 * the new key are left alone, so an interrupted rotation can simply be run again.
 */
export async function rotateMasterKey(options: { config: ServerConfig; newKeyBase64: string; logger: Logger }): Promise<number> {
  const current = loadOrCreateMasterKey({ dataDir: options.config.dataDir, fromEnv: options.config.masterKeyBase64 }).key;
  const next = masterKeyFromBase64(options.newKeyBase64);
  const cipher = new SecretCipher(next, [current]);
  const store = await openStore(options.config);
  try {
    const secrets = await store.listAllSecrets();
    const updates = secrets
      .filter((secret) => SecretCipher.keyIdOf(secret.ciphertext) !== next.id)
      .map((secret) => ({ id: secret.id, ciphertext: cipher.encrypt(cipher.decrypt(secret.ciphertext, secretAssociatedData(secret)), secretAssociatedData(secret)) }));
    await store.reencryptSecrets(updates);
    options.logger.info({ count: updates.length, keyId: next.id }, 'master key rotated');
    return updates.length;
  } finally {
    await store.close();
  }
}
