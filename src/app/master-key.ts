import { HookflowError } from '../errors/catalogue.js';
import { SecretCipher, type MasterKey } from '../secrets/cipher.js';
import { findMasterKey, findPreviousMasterKey, loadOrCreateMasterKey } from '../secrets/master-key-file.js';
import type { Store } from '../store/store.js';

/** The setting holding the id of the master key the database's secrets are encrypted under. */
export const MASTER_KEY_SETTING = 'master_key_id';

/**
 * The master key this process must use, checked against the one the database records, so that
 * every node of a cluster encrypts and decrypts with the same key. The first start records its
 * key's id; a later start (this node or another) whose key differs, or that has none and would
 * generate one, refuses with HOOKFLOW_ERR_CONFIG (exit 2) naming HOOKFLOW_MASTER_KEY — instead of
 * starting and answering 500 to every webhook whose secrets it cannot decrypt.
 *
 * A database from before the id was recorded gets it recorded on the first start, unless its
 * secrets show that this key is not theirs.
 */
export async function resolveMasterKey(options: { dataDir: string; fromEnv: string | undefined; store: Store }): Promise<{ cipher: SecretCipher; key: MasterKey; generated: boolean }> {
  const { store } = options;
  const recorded = await store.getSetting(MASTER_KEY_SETTING);
  const found = findMasterKey({ dataDir: options.dataDir, fromEnv: options.fromEnv });
  if (found === null && recorded !== null) {
    throw new HookflowError(
      'HOOKFLOW_ERR_CONFIG',
      `This database's secrets are encrypted with master key ${recorded}, and this node has no master key (HOOKFLOW_MASTER_KEY is unset and ${options.dataDir} has no master.key): set HOOKFLOW_MASTER_KEY to that key on every node`,
    );
  }
  const { key, generated } = loadOrCreateMasterKey({ dataDir: options.dataDir, fromEnv: options.fromEnv });
  const previous = findPreviousMasterKey(options.dataDir);
  const cipher = new SecretCipher(key, previous === null ? [] : [previous]);
  if (recorded === null) {
    const foreign = (await store.listAllSecrets()).find((secret) => !cipher.hasKey(SecretCipher.keyIdOf(secret.ciphertext) ?? ''));
    if (foreign !== undefined) throw mismatch(SecretCipher.keyIdOf(foreign.ciphertext) ?? 'unknown', key.id, found?.source);
  }
  const claimed = recorded ?? (await store.claimSetting(MASTER_KEY_SETTING, key.id));
  if (claimed !== key.id) throw mismatch(claimed, key.id, found?.source ?? 'generated');
  return { cipher, key, generated };
}

function mismatch(expected: string, actual: string, source: 'env' | 'file' | 'generated' | undefined): HookflowError {
  const where = source === 'env' ? 'HOOKFLOW_MASTER_KEY is' : source === 'file' ? "the data dir's master.key is" : 'this node generated';
  return new HookflowError(
    'HOOKFLOW_ERR_CONFIG',
    `This database's secrets are encrypted with master key ${expected}, but ${where} key ${actual}: set HOOKFLOW_MASTER_KEY to the database's key on every node (after \`hookflow keys rotate-master\`, to the new key)`,
  );
}
