import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { masterKeyFromBase64, masterKeyFromBytes, SecretCipher } from './cipher.js';
import { matchesAnyDigest, secretDigest } from './constant-time.js';

const key = () => masterKeyFromBytes(randomBytes(32));

describe('SecretCipher', () => {
  it('round-trips a secret bound to its row', () => {
    const cipher = new SecretCipher(key());
    const sealed = cipher.encrypt('shop-integration-key', 'row-1');
    expect(sealed).not.toContain('shop-integration-key');
    expect(cipher.decrypt(sealed, 'row-1')).toBe('shop-integration-key');
  });

  it('uses a fresh IV every time', () => {
    const cipher = new SecretCipher(key());
    expect(cipher.encrypt('same', 'row')).not.toBe(cipher.encrypt('same', 'row'));
  });

  it('refuses a ciphertext moved to another row', () => {
    const cipher = new SecretCipher(key());
    const sealed = cipher.encrypt('secret', 'row-1');
    expect(() => cipher.decrypt(sealed, 'row-2')).toThrow(/failed authentication/);
  });

  it('refuses a tampered ciphertext', () => {
    const cipher = new SecretCipher(key());
    const parts = cipher.encrypt('secret', 'row').split('.');
    const data = Buffer.from(parts[4] as string, 'base64url');
    data[0] = (data[0] as number) ^ 1;
    parts[4] = data.toString('base64url');
    expect(() => cipher.decrypt(parts.join('.'), 'row')).toThrow(/failed authentication/);
  });

  it('decrypts with a previous key during rotation and names an unknown key id', () => {
    const old = key();
    const sealed = new SecretCipher(old).encrypt('secret', 'row');
    const next = key();
    expect(new SecretCipher(next, [old]).decrypt(sealed, 'row')).toBe('secret');
    expect(() => new SecretCipher(next).decrypt(sealed, 'row')).toThrow(old.id);
    expect(SecretCipher.keyIdOf(new SecretCipher(next, [old]).encrypt('x', 'row'))).toBe(next.id);
  });

  it('validates the master key size', () => {
    expect(() => masterKeyFromBase64(randomBytes(16).toString('base64'))).toThrow(/32 bytes/);
    expect(masterKeyFromBase64(randomBytes(32).toString('base64')).key).toHaveLength(32);
  });
});

describe('constant-time key comparison', () => {
  it('matches any valid digest and never throws on other lengths', () => {
    const valid = [secretDigest('old-key-123'), secretDigest('new-key-456')];
    expect(matchesAnyDigest('new-key-456', valid)).toBe(true);
    expect(matchesAnyDigest('old-key-123', valid)).toBe(true);
    expect(matchesAnyDigest('', valid)).toBe(false);
    expect(matchesAnyDigest('x'.repeat(10_000), valid)).toBe(false);
    expect(matchesAnyDigest('new-key-456', [])).toBe(false);
  });
});
