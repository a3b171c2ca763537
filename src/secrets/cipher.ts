import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { HookflowError } from '../errors/catalogue.js';

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const FORMAT_VERSION = 'v1';

/** A 32-byte AES key and the short id stored beside every ciphertext it produced. */
export interface MasterKey {
  readonly id: string;
  readonly key: Buffer;
}

/** Builds a master key from 32 raw bytes; the id is derived, so the same key always has the same id. */
export function masterKeyFromBytes(key: Buffer): MasterKey {
  if (key.length !== 32) {
    throw new HookflowError('HOOKFLOW_ERR_CONFIG', `Master key must be 32 bytes, got ${key.length}`);
  }
  const id = createHash('sha256').update('hookflow-key-id').update(key).digest('hex').slice(0, 12);
  return Object.freeze({ id, key: Buffer.from(key) });
}

/** Parses `HOOKFLOW_MASTER_KEY` (base64 of 32 bytes). */
export function masterKeyFromBase64(base64: string): MasterKey {
  const bytes = Buffer.from(base64.trim(), 'base64');
  if (bytes.length !== 32) {
    throw new HookflowError('HOOKFLOW_ERR_CONFIG', 'HOOKFLOW_MASTER_KEY must be base64 of exactly 32 bytes');
  }
  return masterKeyFromBytes(bytes);
}

/**
 * Encrypts and decrypts secrets at rest. `associatedData` binds a ciphertext to the row that
 * owns it, so a ciphertext copied into another row fails to decrypt. Decryption accepts any key
 * of the keyring (the current one and those being rotated away); encryption always uses the
 * current one.
 */
export class SecretCipher {
  readonly current: MasterKey;
  private readonly byId: ReadonlyMap<string, MasterKey>;

  constructor(current: MasterKey, previous: readonly MasterKey[] = []) {
    this.current = current;
    this.byId = new Map([...previous, current].map((key) => [key.id, key]));
  }

  encrypt(plaintext: string, associatedData: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.current.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [FORMAT_VERSION, this.current.id, iv.toString('base64url'), tag.toString('base64url'), data.toString('base64url')].join('.');
  }

  decrypt(ciphertext: string, associatedData: string): string {
    const parts = ciphertext.split('.');
    const [version, keyId, ivText, tagText, dataText] = parts;
    if (parts.length !== 5 || version !== FORMAT_VERSION || keyId === undefined) {
      throw new HookflowError('HOOKFLOW_ERR_INTERNAL', 'Stored secret has an unknown format');
    }
    const key = this.byId.get(keyId);
    if (key === undefined) {
      throw new HookflowError('HOOKFLOW_ERR_CONFIG', `Stored secret was encrypted with master key ${keyId}, which is not configured`);
    }
    try {
      const decipher = createDecipheriv(ALGORITHM, key.key, Buffer.from(ivText ?? '', 'base64url'), { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(associatedData, 'utf8'));
      decipher.setAuthTag(Buffer.from(tagText ?? '', 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(dataText ?? '', 'base64url')), decipher.final()]).toString('utf8');
    } catch (cause) {
      throw new HookflowError('HOOKFLOW_ERR_INTERNAL', 'Stored secret failed authentication (tampered, moved, or wrong key)', { cause });
    }
  }

  /** Whether a key of this keyring has the id (a ciphertext's key id, say). */
  hasKey(id: string): boolean {
    return this.byId.has(id);
  }

  /** The key id a ciphertext was made with, for rotation progress. */
  static keyIdOf(ciphertext: string): string | undefined {
    return ciphertext.split('.')[1];
  }
}
