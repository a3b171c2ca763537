import type { Logger } from 'pino';
import type { ServerConfig } from '../config/server-config.js';
import { HookflowError } from '../errors/catalogue.js';
import { masterKeyFromBase64, SecretCipher, type MasterKey } from '../secrets/cipher.js';
import { findMasterKey, findPreviousMasterKey, replaceMasterKeyFile } from '../secrets/master-key-file.js';
import { openStore } from '../store/open-store.js';
import { MASTER_KEY_SETTING } from './master-key.js';
import { secretAssociatedData, workspaceSecretAssociatedData } from '../secrets/secret-purposes.js';
import { channelSecretAssociatedData } from '../alerts/notification.js';

/**
 * Re-encrypts every secret under a new master key in one transaction. Secrets already under
 * the new key are left alone, so an interrupted rotation can simply be run again; so can one
 * run while a server still held the old key (what it wrote meanwhile is read with
 * `master.key.previous`).
 */
export async function rotateMasterKey(options: { config: ServerConfig; newKeyBase64: string; logger: Logger }): Promise<{ count: number; keyFile: 'replaced' | 'already-new' | 'not-used' }> {
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
  const previous = findPreviousMasterKey(options.config.dataDir);
  const cipher = new SecretCipher(next, previous === null ? [current] : [current, previous]);
  const store = await openStore(options.config);
  try {
    const secrets = await store.listAllSecrets();
    const updates = secrets
      .filter((secret) => SecretCipher.keyIdOf(secret.ciphertext) !== next.id)
      .map((secret) => ({ id: secret.id, ciphertext: cipher.encrypt(cipher.decrypt(secret.ciphertext, secretAssociatedData(secret)), secretAssociatedData(secret)) }));
    await store.reencryptSecrets(updates);
    const workspaceUpdates = (await store.listAllWorkspaceSecrets())
      .filter((secret) => SecretCipher.keyIdOf(secret.ciphertext) !== next.id)
      .map((secret) => {
        const associatedData = workspaceSecretAssociatedData(secret);
        return { workspaceId: secret.workspaceId, name: secret.name, ciphertext: cipher.encrypt(cipher.decrypt(secret.ciphertext, associatedData), associatedData) };
      });
    await store.reencryptWorkspaceSecrets(workspaceUpdates);
    // Alert channels' signing secrets (src/alerts/).
    const channelUpdates = (await store.alerts.listAllAlertChannels())
      .filter((channel) => SecretCipher.keyIdOf(channel.secretCiphertext) !== next.id)
      .map((channel) => {
        const associatedData = channelSecretAssociatedData(channel);
        return { workspaceId: channel.workspaceId, id: channel.id, secretCiphertext: cipher.encrypt(cipher.decrypt(channel.secretCiphertext, associatedData), associatedData) };
      });
    await store.alerts.reencryptAlertChannels(channelUpdates);
    // From now on every node must start with the new key (see master-key.ts).
    await store.putSetting(MASTER_KEY_SETTING, next.id);
    // A generated key file is replaced only after every secret is re-encrypted under the new key,
    // and only when it does not hold that key already: a second run must not overwrite
    // master.key.previous, the old key's last copy, with the new one.
    const keyFile = found.source === 'env' ? 'not-used' : found.key.id === next.id ? 'already-new' : 'replaced';
    if (keyFile === 'replaced') replaceMasterKeyFile(options.config.dataDir, options.newKeyBase64);
    const count = updates.length + workspaceUpdates.length + channelUpdates.length;
    options.logger.info({ count, keyId: next.id, keyFile }, 'master key rotated');
    return { count, keyFile };
  } finally {
    await store.close();
  }
}
