import { createHmac } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { hmacSha256HeaderName, hmacSha256Scheme } from './hmac-sha256.js';
import type { SignatureCheckInput, SignatureOptions } from './types.js';

const SECRET = 'generic-secret-one';
const OTHER_SECRET = 'generic-secret-two';
const BODY = Buffer.from('{"event":"order.created","id":42}');

/** HMAC-SHA256 of the raw body, written out independently of the module under test. */
function digest(secret: string, encoding: 'hex' | 'base64', body: Buffer = BODY): string {
  return createHmac('sha256', secret).update(body).digest(encoding);
}

function check(overrides: Partial<SignatureCheckInput> = {}) {
  return hmacSha256Scheme.verify({
    rawBody: BODY,
    headers: { 'x-signature': digest(SECRET, 'hex') },
    secrets: [SECRET],
    nowSeconds: 1_700_000_000,
    options: {},
    ...overrides,
  });
}

const mismatch = { ok: false, reason: 'signature_mismatch' };
const malformed = { ok: false, reason: 'malformed_header' };

describe('hmac-sha256 signature scheme', () => {
  it('names itself and its default header', () => {
    expect(hmacSha256Scheme.name).toBe('hmac-sha256');
    expect(hmacSha256Scheme.headerNames).toStrictEqual(['x-signature']);
  });

  it('accepts a valid hex signature in x-signature by default', () => {
    expect(check()).toStrictEqual({ ok: true });
  });

  it('reads the configured header, encoding and prefix', () => {
    const options: SignatureOptions = { header: 'x-acme-signature', encoding: 'base64', prefix: 'sha256=' };
    const headers = { 'x-acme-signature': `sha256=${digest(SECRET, 'base64')}` };
    expect(check({ options, headers })).toStrictEqual({ ok: true });
    // The default header is no longer consulted once another is configured.
    expect(check({ options, headers: { 'x-signature': headers['x-acme-signature'] } })).toStrictEqual({
      ok: false,
      reason: 'missing_header',
    });
  });

  it('lower-cases a configured header name, as header maps are lower-case', () => {
    expect(hmacSha256HeaderName({ header: 'X-Acme-Signature' })).toBe('x-acme-signature');
    expect(hmacSha256HeaderName({})).toBe('x-signature');
    const options = { header: 'X-Acme-Signature' };
    expect(check({ options, headers: { 'x-acme-signature': digest(SECRET, 'hex') } })).toStrictEqual({ ok: true });
  });

  it('refuses a body with one byte changed', () => {
    const tampered = Buffer.from(BODY);
    tampered[1] = (tampered[1] ?? 0) ^ 0x01;
    expect(check({ rawBody: tampered })).toStrictEqual(mismatch);
  });

  it('refuses a signature made with another secret', () => {
    expect(check({ headers: { 'x-signature': digest('not-the-secret', 'hex') } })).toStrictEqual(mismatch);
  });

  it('reports a missing header', () => {
    expect(check({ headers: {} })).toStrictEqual({ ok: false, reason: 'missing_header' });
  });

  it('refuses a signature of the wrong length as a mismatch', () => {
    const hex = digest(SECRET, 'hex');
    for (const value of [hex.slice(0, -2), `${hex}ff`]) {
      expect(check({ headers: { 'x-signature': value } })).toStrictEqual(mismatch);
    }
  });

  it('refuses a signature in the other encoding, or in none, as a mismatch', () => {
    expect(check({ headers: { 'x-signature': digest(SECRET, 'base64') } })).toStrictEqual(mismatch);
    const base64Options: SignatureOptions = { encoding: 'base64' };
    expect(check({ options: base64Options, headers: { 'x-signature': digest(SECRET, 'hex') } })).toStrictEqual(
      mismatch,
    );
    expect(check({ headers: { 'x-signature': 'garbage' } })).toStrictEqual(mismatch);
  });

  it('reports an empty header, or one without the configured prefix, as malformed', () => {
    expect(check({ headers: { 'x-signature': '' } })).toStrictEqual(malformed);
    const options = { prefix: 'sha256=' };
    for (const value of [digest(SECRET, 'hex'), `SHA256=${digest(SECRET, 'hex')}`, 'garbage']) {
      expect(check({ options, headers: { 'x-signature': value } })).toStrictEqual(malformed);
    }
  });

  it('accepts either secret during a rotation', () => {
    const secrets = [SECRET, OTHER_SECRET];
    for (const signer of secrets) {
      expect(check({ headers: { 'x-signature': digest(signer, 'hex') }, secrets })).toStrictEqual({ ok: true });
    }
  });

  it('refuses everything when no secret is configured, or only an empty one', () => {
    expect(check({ secrets: [] })).toStrictEqual(mismatch);
    expect(check({ headers: { 'x-signature': digest('', 'hex') }, secrets: [''] })).toStrictEqual(mismatch);
  });
});
