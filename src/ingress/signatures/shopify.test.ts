import { createHmac } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { shopifyScheme } from './shopify.js';
import type { SignatureCheckInput } from './types.js';

const SECRET = 'shpss_client_secret_one';
const OTHER_SECRET = 'shpss_client_secret_two';
const BODY = Buffer.from('{"id":820982911946154508,"email":"jon@example.com"}');

/** Shopify's algorithm: base64 of HMAC-SHA256(secret, raw body), written out independently. */
function shopifySignature(secret: string, body: Buffer): string {
  return createHmac('sha256', secret).update(body).digest('base64');
}

function check(overrides: Partial<SignatureCheckInput> = {}) {
  return shopifyScheme.verify({
    rawBody: BODY,
    headers: { 'x-shopify-hmac-sha256': shopifySignature(SECRET, BODY) },
    secrets: [SECRET],
    nowSeconds: 1_700_000_000,
    options: {},
    ...overrides,
  });
}

const mismatch = { ok: false, reason: 'signature_mismatch' };

describe('shopify signature scheme', () => {
  it('names itself and the one header it reads', () => {
    expect(shopifyScheme.name).toBe('shopify');
    expect(shopifyScheme.headerNames).toStrictEqual(['x-shopify-hmac-sha256']);
  });

  it('accepts a valid signature', () => {
    expect(check()).toStrictEqual({ ok: true });
  });

  it('verifies the raw bytes, including ones that are not valid UTF-8', () => {
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x7b]);
    const headers = { 'x-shopify-hmac-sha256': shopifySignature(SECRET, binary) };
    expect(check({ rawBody: binary, headers })).toStrictEqual({ ok: true });
  });

  it('refuses a body with one byte changed', () => {
    const tampered = Buffer.from(BODY);
    tampered[tampered.length - 2] = (tampered[tampered.length - 2] ?? 0) ^ 0x01;
    expect(check({ rawBody: tampered })).toStrictEqual(mismatch);
  });

  it('refuses a signature made with another secret', () => {
    const headers = { 'x-shopify-hmac-sha256': shopifySignature('not-the-secret', BODY) };
    expect(check({ headers })).toStrictEqual(mismatch);
  });

  it('reports a missing header', () => {
    expect(check({ headers: {} })).toStrictEqual({ ok: false, reason: 'missing_header' });
  });

  it('refuses a signature of the wrong length as a mismatch', () => {
    const digest = createHmac('sha256', SECRET).update(BODY).digest();
    for (const value of [digest.subarray(0, 31), Buffer.concat([digest, Buffer.from([0])])]) {
      expect(check({ headers: { 'x-shopify-hmac-sha256': value.toString('base64') } })).toStrictEqual(mismatch);
    }
  });

  it('refuses a value that is not strict base64 as a mismatch', () => {
    const signature = shopifySignature(SECRET, BODY);
    // Node's lenient decoder would ignore the inserted `!` and decode the right digest.
    const withJunk = `${signature.slice(0, 10)}!${signature.slice(10)}`;
    const unpadded = signature.replace(/=+$/, '');
    const hex = createHmac('sha256', SECRET).update(BODY).digest('hex');
    for (const value of ['garbage', withJunk, unpadded, hex]) {
      expect(check({ headers: { 'x-shopify-hmac-sha256': value } })).toStrictEqual(mismatch);
    }
  });

  it('reports an empty header as malformed', () => {
    for (const value of ['', '  ']) {
      expect(check({ headers: { 'x-shopify-hmac-sha256': value } })).toStrictEqual({
        ok: false,
        reason: 'malformed_header',
      });
    }
  });

  it('accepts either secret during a rotation', () => {
    const secrets = [SECRET, OTHER_SECRET];
    for (const signer of secrets) {
      const headers = { 'x-shopify-hmac-sha256': shopifySignature(signer, BODY) };
      expect(check({ headers, secrets })).toStrictEqual({ ok: true });
    }
  });

  it('refuses everything when no secret is configured, or only an empty one', () => {
    expect(check({ secrets: [] })).toStrictEqual(mismatch);
    const headers = { 'x-shopify-hmac-sha256': shopifySignature('', BODY) };
    expect(check({ headers, secrets: [''] })).toStrictEqual(mismatch);
  });
});
