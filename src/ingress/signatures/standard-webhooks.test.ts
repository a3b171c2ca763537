import { createHmac } from 'node:crypto';

import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { standardWebhooksKeys, standardWebhooksScheme } from './standard-webhooks.js';
import type { SignatureCheckInput, SignatureCheckResult } from './types.js';

// The specification's published test vector.
const DOC_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const DOC_ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const DOC_TIMESTAMP = '1614265330';
const DOC_BODY = Buffer.from('{"test": 2432232314}');
const DOC_SIGNATURE = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';

const SECRET = `whsec_${Buffer.from('hookflow-standard-webhooks-key-1').toString('base64')}`;
const OTHER_SECRET = `whsec_${Buffer.from('rotated-in-key-24-bytes!').toString('base64')}`;
const ID = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W';
const NOW = 1_700_000_000;
const BODY = Buffer.from('{"type":"invoice.paid","data":{"id":"in_1"}}');

/** The spec's algorithm, written out independently: key = base64 after `whsec_`. */
function v1(secret: string, timestamp: string, body: Buffer = BODY, id: string = ID): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64')}`;
}

function headersFor(timestamp: string, signature: string, id: string = ID): Record<string, string> {
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature };
}

function check(overrides: Partial<SignatureCheckInput> = {}) {
  return standardWebhooksScheme.verify({
    rawBody: BODY,
    headers: headersFor(String(NOW), v1(SECRET, String(NOW))),
    secrets: [SECRET],
    nowSeconds: NOW,
    options: {},
    ...overrides,
  });
}

const mismatch: SignatureCheckResult = { ok: false, reason: 'signature_mismatch' };
const malformed: SignatureCheckResult = { ok: false, reason: 'malformed_header' };
const missing: SignatureCheckResult = { ok: false, reason: 'missing_header' };
const stale: SignatureCheckResult = { ok: false, reason: 'timestamp_out_of_tolerance' };

describe('standard-webhooks signature scheme', () => {
  it("names itself and the headers it reads: the spec's three and Svix's three", () => {
    expect(standardWebhooksScheme.name).toBe('standard-webhooks');
    expect(standardWebhooksScheme.headerNames).toStrictEqual(['webhook-id', 'webhook-timestamp', 'webhook-signature', 'svix-id', 'svix-timestamp', 'svix-signature']);
  });

  it('accepts the same signature under Svix header names, and never mixes the two sets', () => {
    const svix = { 'svix-id': ID, 'svix-timestamp': String(NOW), 'svix-signature': v1(SECRET, String(NOW)) };
    expect(check({ headers: svix })).toStrictEqual({ ok: true });
    // A spec header present means the spec's set is read whole: its missing signature is missing.
    expect(check({ headers: { ...svix, 'webhook-id': ID } })).toStrictEqual(missing);
  });

  it("accepts the specification's published test vector", () => {
    const result = check({
      rawBody: DOC_BODY,
      headers: headersFor(DOC_TIMESTAMP, DOC_SIGNATURE, DOC_ID),
      secrets: [DOC_SECRET],
      nowSeconds: Number(DOC_TIMESTAMP),
    });
    expect(result).toStrictEqual({ ok: true });
  });

  it('accepts a valid signature', () => {
    expect(check()).toStrictEqual({ ok: true });
  });

  it('refuses a body with one byte changed', () => {
    const tampered = Buffer.from(BODY);
    tampered[3] = (tampered[3] ?? 0) ^ 0x01;
    expect(check({ rawBody: tampered })).toStrictEqual(mismatch);
  });

  it('refuses a signature replayed under another webhook-id', () => {
    expect(check({ headers: headersFor(String(NOW), v1(SECRET, String(NOW)), 'msg_other') })).toStrictEqual(mismatch);
  });

  it('refuses a signature made with another secret', () => {
    expect(check({ headers: headersFor(String(NOW), v1(OTHER_SECRET, String(NOW))) })).toStrictEqual(mismatch);
  });

  it('reports each of the three headers missing', () => {
    const full = headersFor(String(NOW), v1(SECRET, String(NOW)));
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const headers = Object.fromEntries(Object.entries(full).filter(([key]) => key !== name));
      expect(check({ headers })).toStrictEqual(missing);
    }
  });

  it('refuses a signature of the wrong length or encoding as a mismatch', () => {
    const good = v1(SECRET, String(NOW));
    const digest = Buffer.from(good.slice(3), 'base64');
    const short = `v1,${digest.subarray(0, 31).toString('base64')}`;
    const long = `v1,${Buffer.concat([digest, Buffer.from([1])]).toString('base64')}`;
    const hex = `v1,${digest.toString('hex')}`;
    const junk = `v1,${good.slice(3, 10)}!${good.slice(10)}`;
    for (const signature of [short, long, hex, junk, 'v1,']) {
      expect(check({ headers: headersFor(String(NOW), signature) })).toStrictEqual(mismatch);
    }
  });

  it('ignores unknown versions, so a v1a-only header is a mismatch and v1a beside v1 is fine', () => {
    const good = v1(SECRET, String(NOW));
    const asymmetric = `v1a,${Buffer.alloc(64, 0xa5).toString('base64')}`;
    expect(check({ headers: headersFor(String(NOW), asymmetric) })).toStrictEqual(mismatch);
    expect(check({ headers: headersFor(String(NOW), `v2,${good.slice(3)}`) })).toStrictEqual(mismatch);
    expect(check({ headers: headersFor(String(NOW), `${asymmetric} ${good}`) })).toStrictEqual({ ok: true });
  });

  it('reports garbage or an empty signature header as malformed', () => {
    for (const signature of ['garbage', '', '   ', ',abc', 'v1']) {
      expect(check({ headers: headersFor(String(NOW), signature) })).toStrictEqual(malformed);
    }
  });

  it('reports an empty webhook-id as malformed', () => {
    expect(check({ headers: headersFor(String(NOW), v1(SECRET, String(NOW)), '') })).toStrictEqual(malformed);
  });

  it('reports a non-numeric or non-canonical timestamp as malformed', () => {
    for (const t of ['later', '', `${NOW}.0`, `-${NOW}`, `0${NOW}`, `${NOW}abc`]) {
      expect(check({ headers: headersFor(t, v1(SECRET, t)) })).toStrictEqual(malformed);
    }
  });

  it('accepts exactly at the default 300 s edge in both directions and refuses one second past', () => {
    for (const [t, expected] of [
      [NOW - 300, { ok: true }],
      [NOW + 300, { ok: true }],
      [NOW - 301, stale],
      [NOW + 301, stale],
    ] as const) {
      expect(check({ headers: headersFor(String(t), v1(SECRET, String(t))) })).toStrictEqual(expected);
    }
  });

  it('honours a configured tolerance at its edges', () => {
    const options = { toleranceSeconds: 30 };
    for (const [t, expected] of [
      [NOW - 30, { ok: true }],
      [NOW + 30, { ok: true }],
      [NOW - 31, stale],
      [NOW + 31, stale],
    ] as const) {
      expect(check({ options, headers: headersFor(String(t), v1(SECRET, String(t))) })).toStrictEqual(expected);
    }
  });

  it('accepts either secret during a rotation', () => {
    const secrets = [SECRET, OTHER_SECRET];
    for (const signer of secrets) {
      expect(check({ headers: headersFor(String(NOW), v1(signer, String(NOW))), secrets })).toStrictEqual({
        ok: true,
      });
    }
  });

  it('accepts several signatures in one header when only the second matches', () => {
    const signature = `${v1(OTHER_SECRET, String(NOW))} ${v1(SECRET, String(NOW))}`;
    expect(check({ headers: headersFor(String(NOW), signature) })).toStrictEqual({ ok: true });
  });

  it('refuses several signatures when none matches', () => {
    const signature = `${v1(OTHER_SECRET, String(NOW))} v1,${Buffer.alloc(32, 0x5a).toString('base64')}`;
    expect(check({ headers: headersFor(String(NOW), signature) })).toStrictEqual(mismatch);
  });

  it('verifies the raw bytes of a body that is not valid UTF-8', () => {
    const binary = Buffer.from([0xff, 0xfe, 0x41, 0x80]);
    const headers = headersFor(String(NOW), v1(SECRET, String(NOW), binary));
    expect(check({ rawBody: binary, headers })).toStrictEqual({ ok: true });
  });

  it('refuses everything when no usable secret is configured', () => {
    expect(check({ secrets: [] })).toStrictEqual(mismatch);
    // An empty key would make the HMAC computable by anyone.
    const emptyHmac = createHmac('sha256', Buffer.alloc(0)).update(`${ID}.${NOW}.`).update(BODY);
    const emptyKey = `v1,${emptyHmac.digest('base64')}`;
    expect(check({ headers: headersFor(String(NOW), emptyKey), secrets: ['whsec_', ''] })).toStrictEqual(mismatch);
  });
});

describe('standard-webhooks secrets, as the standardwebhooks library reads them', () => {
  it('decodes the part after whsec_, and an unprefixed secret as base64 too', () => {
    const encoded = DOC_SECRET.slice('whsec_'.length);
    const expected = Buffer.from(encoded, 'base64');
    expect(standardWebhooksKeys([DOC_SECRET])).toStrictEqual([expected]);
    expect(standardWebhooksKeys([encoded])).toStrictEqual([expected]);
  });

  it('drops secrets the library refuses to construct with', () => {
    for (const secret of ['plain-secret!', 'abc', 'whsec_', '']) {
      expect(() => new Webhook(secret)).toThrow();
      expect(standardWebhooksKeys([secret])).toStrictEqual([]);
    }
  });

  it('refuses a signature keyed with the UTF-8 bytes of a secret that is not base64', () => {
    const plain = 'plain-secret!';
    const signature = `v1,${createHmac('sha256', plain).update(`${ID}.${NOW}.`).update(BODY).digest('base64')}`;
    expect(check({ headers: headersFor(String(NOW), signature), secrets: [plain] })).toStrictEqual(mismatch);
  });
});

describe('standard-webhooks cross-checked with the standardwebhooks npm package', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Signs with the reference library at `timestamp` seconds. */
  function librarySigned(secret: string, timestamp: number, body: Buffer = BODY): Record<string, string> {
    const signature = new Webhook(secret).sign(ID, new Date(timestamp * 1000), body.toString('utf8'));
    return headersFor(String(timestamp), signature);
  }

  it('reproduces the published vector with the library, so the fixture itself is right', () => {
    const signedAt = new Date(Number(DOC_TIMESTAMP) * 1000);
    const signature = new Webhook(DOC_SECRET).sign(DOC_ID, signedAt, DOC_BODY.toString());
    expect(signature).toBe(DOC_SIGNATURE);
  });

  it('accepts what the library signs, with prefixed and unprefixed secrets', () => {
    expect(check({ headers: librarySigned(SECRET, NOW) })).toStrictEqual({ ok: true });
    const unprefixed = SECRET.slice('whsec_'.length);
    expect(check({ headers: librarySigned(unprefixed, NOW), secrets: [unprefixed] })).toStrictEqual({ ok: true });
    expect(check({ headers: librarySigned(unprefixed, NOW), secrets: [SECRET] })).toStrictEqual({ ok: true });
  });

  it('accepts what the library signs at the tolerance edges and refuses one second past', () => {
    expect(check({ headers: librarySigned(SECRET, NOW - 300) })).toStrictEqual({ ok: true });
    expect(check({ headers: librarySigned(SECRET, NOW + 300) })).toStrictEqual({ ok: true });
    expect(check({ headers: librarySigned(SECRET, NOW - 301) })).toStrictEqual(stale);
    expect(check({ headers: librarySigned(SECRET, NOW + 301) })).toStrictEqual(stale);
  });

  it('refuses library-signed requests that were tampered with', () => {
    const headers = librarySigned(SECRET, NOW);
    const tampered = Buffer.from(BODY);
    tampered[tampered.length - 3] = (tampered[tampered.length - 3] ?? 0) ^ 0x20;
    expect(check({ headers, rawBody: tampered })).toStrictEqual(mismatch);
    expect(check({ headers: { ...headers, 'webhook-id': 'msg_forged' } })).toStrictEqual(mismatch);
    expect(check({ headers: { ...headers, 'webhook-timestamp': String(NOW + 1) } })).toStrictEqual(mismatch);
    expect(check({ headers, secrets: [OTHER_SECRET] })).toStrictEqual(mismatch);
  });

  it('follows the body bytes where the library signs a non-UTF-8 Buffer as decoded text', () => {
    // The library calls `payload.toString()`, turning invalid UTF-8 into U+FFFD before signing;
    // the spec signs the raw body, and so do we (see the raw-bytes test above).
    const binary = Buffer.from([0xff, 0xfe, 0x41, 0x80]);
    const signature = new Webhook(SECRET).sign(ID, new Date(NOW * 1000), binary);
    expect(check({ rawBody: binary, headers: headersFor(String(NOW), signature) })).toStrictEqual(mismatch);
  });

  it('agrees with the library verdict on every variant of a request', () => {
    vi.useFakeTimers({ now: NOW * 1000 });
    const good = librarySigned(SECRET, NOW);
    const goodSignature = good['webhook-signature'] ?? '';
    const variants: Array<{ headers: Record<string, string>; body: Buffer; expected: SignatureCheckResult }> = [
      { headers: good, body: BODY, expected: { ok: true } },
      {
        headers: { ...good, 'webhook-signature': `v1a,${goodSignature.slice(3)} ${goodSignature}` },
        body: BODY,
        expected: { ok: true },
      },
      {
        headers: { ...good, 'webhook-signature': `v1,${'A'.repeat(43)}= ${goodSignature}` },
        body: BODY,
        expected: { ok: true },
      },
      { headers: { ...good, 'webhook-signature': `v2,${goodSignature.slice(3)}` }, body: BODY, expected: mismatch },
      { headers: { ...good, 'webhook-id': 'msg_other' }, body: BODY, expected: mismatch },
      { headers: good, body: Buffer.from(`${BODY.toString()} `), expected: mismatch },
      { headers: librarySigned(SECRET, NOW - 301), body: BODY, expected: stale },
      { headers: librarySigned(SECRET, NOW + 301), body: BODY, expected: stale },
      { headers: librarySigned(OTHER_SECRET, NOW), body: BODY, expected: mismatch },
    ];
    for (const { headers, body, expected } of variants) {
      let libraryAccepts = true;
      try {
        new Webhook(SECRET).verify(body.toString(), headers);
      } catch {
        libraryAccepts = false;
      }
      expect(check({ headers, rawBody: body })).toStrictEqual(expected);
      expect(libraryAccepts).toBe(expected.ok);
    }
  });
});
