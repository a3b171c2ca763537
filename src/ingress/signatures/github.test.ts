import { createHmac } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { githubScheme } from './github.js';
import type { SignatureCheckInput } from './types.js';

// GitHub's published example ("Validating webhook deliveries").
const DOC_SECRET = "It's a Secret to Everybody";
const DOC_BODY = Buffer.from('Hello, World!');
const DOC_SIGNATURE = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';

const SECRET = 'gh-secret-one';
const OTHER_SECRET = 'gh-secret-two';
const BODY = Buffer.from('{"action":"opened","number":1}');

/** GitHub's algorithm, written out independently of the module under test. */
function githubSignature(secret: string, body: Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function check(overrides: Partial<SignatureCheckInput> = {}) {
  return githubScheme.verify({
    rawBody: BODY,
    headers: { 'x-hub-signature-256': githubSignature(SECRET, BODY) },
    secrets: [SECRET],
    nowSeconds: 1_700_000_000,
    options: {},
    ...overrides,
  });
}

describe('github signature scheme', () => {
  it('names itself and the one header it reads', () => {
    expect(githubScheme.name).toBe('github');
    expect(githubScheme.headerNames).toStrictEqual(['x-hub-signature-256']);
  });

  it("accepts GitHub's published example", () => {
    const result = check({
      rawBody: DOC_BODY,
      headers: { 'x-hub-signature-256': DOC_SIGNATURE },
      secrets: [DOC_SECRET],
    });
    expect(result).toStrictEqual({ ok: true });
  });

  it('accepts a valid signature', () => {
    expect(check()).toStrictEqual({ ok: true });
  });

  it('accepts upper-case hex, since the digest bytes are the same', () => {
    const signature = githubSignature(SECRET, BODY);
    const upper = `sha256=${signature.slice('sha256='.length).toUpperCase()}`;
    expect(check({ headers: { 'x-hub-signature-256': upper } })).toStrictEqual({ ok: true });
  });

  it('refuses a body with one byte changed', () => {
    const tampered = Buffer.from(BODY);
    tampered[5] = (tampered[5] ?? 0) ^ 0x01;
    expect(check({ rawBody: tampered })).toStrictEqual({ ok: false, reason: 'signature_mismatch' });
  });

  it('refuses a signature made with another secret', () => {
    const headers = { 'x-hub-signature-256': githubSignature('not-the-secret', BODY) };
    expect(check({ headers })).toStrictEqual({ ok: false, reason: 'signature_mismatch' });
  });

  it('reports a missing header', () => {
    expect(check({ headers: {} })).toStrictEqual({ ok: false, reason: 'missing_header' });
    expect(check({ headers: { 'x-hub-signature-256': undefined } })).toStrictEqual({
      ok: false,
      reason: 'missing_header',
    });
  });

  it('does not fall back to the legacy SHA-1 header', () => {
    const sha1 = `sha1=${createHmac('sha1', SECRET).update(BODY).digest('hex')}`;
    expect(check({ headers: { 'x-hub-signature': sha1 } })).toStrictEqual({ ok: false, reason: 'missing_header' });
  });

  it('refuses a signature of the wrong length as a mismatch', () => {
    const signature = githubSignature(SECRET, BODY);
    for (const value of [signature.slice(0, -2), `${signature}00`, 'sha256=']) {
      expect(check({ headers: { 'x-hub-signature-256': value } })).toStrictEqual({
        ok: false,
        reason: 'signature_mismatch',
      });
    }
  });

  it('refuses a signature that is not hex as a mismatch', () => {
    const signature = githubSignature(SECRET, BODY);
    const notHex = `${signature.slice(0, -1)}g`;
    expect(check({ headers: { 'x-hub-signature-256': notHex } })).toStrictEqual({
      ok: false,
      reason: 'signature_mismatch',
    });
  });

  it('reports a header without the sha256= prefix, or empty, as malformed', () => {
    const digestOnly = githubSignature(SECRET, BODY).slice('sha256='.length);
    for (const value of ['garbage', '', '   ', digestOnly, `SHA256=${digestOnly}`, `sha1=${digestOnly}`]) {
      expect(check({ headers: { 'x-hub-signature-256': value } })).toStrictEqual({
        ok: false,
        reason: 'malformed_header',
      });
    }
  });

  it('reads a one-element header array, and refuses a header sent twice', () => {
    const signature = githubSignature(SECRET, BODY);
    expect(check({ headers: { 'x-hub-signature-256': [signature] } })).toStrictEqual({ ok: true });
    expect(check({ headers: { 'x-hub-signature-256': [signature, signature] } })).toStrictEqual({
      ok: false,
      reason: 'malformed_header',
    });
    expect(check({ headers: { 'x-hub-signature-256': [] } })).toStrictEqual({ ok: false, reason: 'missing_header' });
  });

  it('accepts either secret during a rotation', () => {
    const secrets = [SECRET, OTHER_SECRET];
    for (const signer of secrets) {
      const headers = { 'x-hub-signature-256': githubSignature(signer, BODY) };
      expect(check({ headers, secrets })).toStrictEqual({ ok: true });
    }
  });

  it('refuses everything when no secret is configured, or only an empty one', () => {
    expect(check({ secrets: [] })).toStrictEqual({ ok: false, reason: 'signature_mismatch' });
    // Anyone can compute an HMAC under the empty key, so it must never verify.
    const headers = { 'x-hub-signature-256': githubSignature('', BODY) };
    expect(check({ headers, secrets: [''] })).toStrictEqual({ ok: false, reason: 'signature_mismatch' });
  });
});
