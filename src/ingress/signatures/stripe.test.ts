import { createHmac } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { stripeScheme } from './stripe.js';
import type { SignatureCheckInput } from './types.js';

const SECRET = 'whsec_stripe_endpoint_secret_one';
const OTHER_SECRET = 'whsec_stripe_endpoint_secret_two';
const NOW = 1_700_000_000;
const BODY = Buffer.from('{"id":"evt_1","object":"event","type":"payment_intent.succeeded"}');

/** Stripe's v1 algorithm: hex HMAC-SHA256(secret, `${t}.${body}`), written out independently. */
function v1(secret: string, timestamp: string, body: Buffer = BODY): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

function stripeHeader(timestamp: string, ...signatures: string[]): Record<string, string> {
  return { 'stripe-signature': [`t=${timestamp}`, ...signatures.map((s) => `v1=${s}`)].join(',') };
}

function check(overrides: Partial<SignatureCheckInput> = {}) {
  return stripeScheme.verify({
    rawBody: BODY,
    headers: stripeHeader(String(NOW), v1(SECRET, String(NOW))),
    secrets: [SECRET],
    nowSeconds: NOW,
    options: {},
    ...overrides,
  });
}

const mismatch = { ok: false, reason: 'signature_mismatch' };
const malformed = { ok: false, reason: 'malformed_header' };
const stale = { ok: false, reason: 'timestamp_out_of_tolerance' };

describe('stripe signature scheme', () => {
  it('names itself and the one header it reads', () => {
    expect(stripeScheme.name).toBe('stripe');
    expect(stripeScheme.headerNames).toStrictEqual(['stripe-signature']);
  });

  it('accepts a valid signature', () => {
    expect(check()).toStrictEqual({ ok: true });
  });

  it('accepts the header as Stripe sends it, with a v0 signature after the v1', () => {
    const t = String(NOW);
    const v0 = createHmac('sha256', 'test-mode-secret').update(`${t}.`).update(BODY).digest('hex');
    const headers = { 'stripe-signature': `t=${t},v1=${v1(SECRET, t)},v0=${v0}` };
    expect(check({ headers })).toStrictEqual({ ok: true });
  });

  it('tolerates spaces around the comma-separated items', () => {
    const t = String(NOW);
    expect(check({ headers: { 'stripe-signature': `t=${t}, v1=${v1(SECRET, t)}` } })).toStrictEqual({ ok: true });
  });

  it('refuses a body with one byte changed', () => {
    const tampered = Buffer.from(BODY);
    tampered[10] = (tampered[10] ?? 0) ^ 0x01;
    expect(check({ rawBody: tampered })).toStrictEqual(mismatch);
  });

  it('refuses a signature whose t= was swapped for another in-window one', () => {
    expect(check({ headers: stripeHeader(String(NOW - 1), v1(SECRET, String(NOW))) })).toStrictEqual(mismatch);
  });

  it('refuses a signature made with another secret', () => {
    expect(check({ headers: stripeHeader(String(NOW), v1('not-the-secret', String(NOW))) })).toStrictEqual(mismatch);
  });

  it('reports a missing header', () => {
    expect(check({ headers: {} })).toStrictEqual({ ok: false, reason: 'missing_header' });
  });

  it('refuses a signature of the wrong length or encoding as a mismatch', () => {
    const good = v1(SECRET, String(NOW));
    for (const bad of [good.slice(0, -2), `${good}00`, '', `${good.slice(0, -1)}x`]) {
      expect(check({ headers: stripeHeader(String(NOW), bad) })).toStrictEqual(mismatch);
    }
  });

  it('refuses a header carrying only v0 or unknown schemes as a mismatch', () => {
    const t = String(NOW);
    const good = v1(SECRET, t);
    for (const value of [`t=${t},v0=${good}`, `t=${t},v2=${good}`, `t=${t}`]) {
      expect(check({ headers: { 'stripe-signature': value } })).toStrictEqual(mismatch);
    }
  });

  it('reports garbage, an empty header or a missing/repeated t= as malformed', () => {
    const t = String(NOW);
    const good = v1(SECRET, t);
    for (const value of ['garbage', '', `v1=${good}`, `t=${t},t=${t},v1=${good}`, `t=${t},${good}`, `=${t}`]) {
      expect(check({ headers: { 'stripe-signature': value } })).toStrictEqual(malformed);
    }
  });

  it('reports a non-numeric or non-canonical timestamp as malformed', () => {
    for (const t of ['now', '', `${NOW}.5`, `-${NOW}`, `0${NOW}`, ' ']) {
      expect(check({ headers: stripeHeader(t, v1(SECRET, t)) })).toStrictEqual(malformed);
    }
  });

  it('accepts exactly at the default 300 s edge in both directions and refuses one second past', () => {
    for (const [t, expected] of [
      [NOW - 300, { ok: true }],
      [NOW + 300, { ok: true }],
      [NOW - 301, stale],
      [NOW + 301, stale],
    ] as const) {
      expect(check({ headers: stripeHeader(String(t), v1(SECRET, String(t))) })).toStrictEqual(expected);
    }
  });

  it('honours a configured tolerance at its edges', () => {
    const options = { toleranceSeconds: 10 };
    for (const [t, expected] of [
      [NOW - 10, { ok: true }],
      [NOW + 10, { ok: true }],
      [NOW - 11, stale],
      [NOW + 11, stale],
    ] as const) {
      expect(check({ options, headers: stripeHeader(String(t), v1(SECRET, String(t))) })).toStrictEqual(expected);
    }
  });

  it('accepts either secret during a rotation', () => {
    const secrets = [SECRET, OTHER_SECRET];
    for (const signer of secrets) {
      expect(check({ headers: stripeHeader(String(NOW), v1(signer, String(NOW))), secrets })).toStrictEqual({
        ok: true,
      });
    }
  });

  it('accepts several v1 signatures when only the second matches', () => {
    const t = String(NOW);
    const headers = stripeHeader(t, v1('retired-secret', t), v1(SECRET, t));
    expect(check({ headers })).toStrictEqual({ ok: true });
  });

  it('refuses several v1 signatures when none matches', () => {
    const t = String(NOW);
    expect(check({ headers: stripeHeader(t, v1('a', t), v1('b', t)) })).toStrictEqual(mismatch);
  });

  it('refuses everything when no secret is configured, or only an empty one', () => {
    expect(check({ secrets: [] })).toStrictEqual(mismatch);
    expect(check({ headers: stripeHeader(String(NOW), v1('', String(NOW))), secrets: [''] })).toStrictEqual(mismatch);
  });
});
