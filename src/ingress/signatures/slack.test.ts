import { createHmac } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { slackScheme } from './slack.js';
import type { SignatureCheckInput } from './types.js';

// Slack's published example ("Verifying requests from Slack").
const DOC_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const DOC_TIMESTAMP = '1531420618';
const DOC_BODY = Buffer.from(
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V' +
    '&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=' +
    '&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN' +
    '&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
);
const DOC_SIGNATURE = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';

const SECRET = 'slack-signing-secret-one';
const OTHER_SECRET = 'slack-signing-secret-two';
const NOW = 1_700_000_000;
const BODY = Buffer.from('{"type":"event_callback","event":{"type":"app_mention"}}');

/** Slack's algorithm, written out independently of the module under test. */
function slackSignature(secret: string, timestamp: string, body: Buffer): string {
  const hmac = createHmac('sha256', secret).update(`v0:${timestamp}:`).update(body);
  return `v0=${hmac.digest('hex')}`;
}

function headersFor(timestamp: string, secret = SECRET, body = BODY) {
  return { 'x-slack-signature': slackSignature(secret, timestamp, body), 'x-slack-request-timestamp': timestamp };
}

function check(overrides: Partial<SignatureCheckInput> = {}) {
  return slackScheme.verify({
    rawBody: BODY,
    headers: headersFor(String(NOW)),
    secrets: [SECRET],
    nowSeconds: NOW,
    options: {},
    ...overrides,
  });
}

const mismatch = { ok: false, reason: 'signature_mismatch' };
const malformed = { ok: false, reason: 'malformed_header' };
const stale = { ok: false, reason: 'timestamp_out_of_tolerance' };

describe('slack signature scheme', () => {
  it('names itself and both headers it reads', () => {
    expect(slackScheme.name).toBe('slack');
    expect(slackScheme.headerNames).toStrictEqual(['x-slack-signature', 'x-slack-request-timestamp']);
  });

  it("accepts Slack's published example", () => {
    const result = check({
      rawBody: DOC_BODY,
      headers: { 'x-slack-signature': DOC_SIGNATURE, 'x-slack-request-timestamp': DOC_TIMESTAMP },
      secrets: [DOC_SECRET],
      nowSeconds: Number(DOC_TIMESTAMP) + 1,
    });
    expect(result).toStrictEqual({ ok: true });
  });

  it('accepts a valid signature', () => {
    expect(check()).toStrictEqual({ ok: true });
  });

  it('refuses a body with one byte changed', () => {
    const tampered = Buffer.from(BODY);
    tampered[0] = (tampered[0] ?? 0) ^ 0x01;
    expect(check({ rawBody: tampered })).toStrictEqual(mismatch);
  });

  it('refuses a signature whose timestamp was swapped for another in-window one', () => {
    const headers = { ...headersFor(String(NOW)), 'x-slack-request-timestamp': String(NOW - 1) };
    expect(check({ headers })).toStrictEqual(mismatch);
  });

  it('refuses a signature made with another secret', () => {
    expect(check({ headers: headersFor(String(NOW), 'not-the-secret') })).toStrictEqual(mismatch);
  });

  it('reports either header missing', () => {
    const { 'x-slack-signature': signature, 'x-slack-request-timestamp': timestamp } = headersFor(String(NOW));
    expect(check({ headers: { 'x-slack-request-timestamp': timestamp } })).toStrictEqual({
      ok: false,
      reason: 'missing_header',
    });
    expect(check({ headers: { 'x-slack-signature': signature } })).toStrictEqual({
      ok: false,
      reason: 'missing_header',
    });
  });

  it('refuses a signature of the wrong length or encoding as a mismatch', () => {
    const signature = slackSignature(SECRET, String(NOW), BODY);
    for (const value of [signature.slice(0, -2), `${signature}ab`, 'v0=', `${signature.slice(0, -1)}z`]) {
      const headers = { 'x-slack-signature': value, 'x-slack-request-timestamp': String(NOW) };
      expect(check({ headers })).toStrictEqual(mismatch);
    }
  });

  it('reports a signature header without v0=, or empty, as malformed', () => {
    const digestOnly = slackSignature(SECRET, String(NOW), BODY).slice('v0='.length);
    for (const value of ['garbage', '', digestOnly, `v1=${digestOnly}`]) {
      const headers = { 'x-slack-signature': value, 'x-slack-request-timestamp': String(NOW) };
      expect(check({ headers })).toStrictEqual(malformed);
    }
  });

  it('reports a non-numeric, empty or non-canonical timestamp as malformed', () => {
    for (const timestamp of ['soon', '', '1.5e9', `${NOW}.0`, `-${NOW}`, `0${NOW}`, `${NOW}abc`, '0x6553f100']) {
      expect(check({ headers: headersFor(timestamp) })).toStrictEqual(malformed);
    }
  });

  it('accepts exactly at the default 300 s edge in both directions and refuses one second past', () => {
    expect(check({ headers: headersFor(String(NOW - 300)) })).toStrictEqual({ ok: true });
    expect(check({ headers: headersFor(String(NOW + 300)) })).toStrictEqual({ ok: true });
    expect(check({ headers: headersFor(String(NOW - 301)) })).toStrictEqual(stale);
    expect(check({ headers: headersFor(String(NOW + 301)) })).toStrictEqual(stale);
  });

  it('honours a configured tolerance at its edges', () => {
    const options = { toleranceSeconds: 60 };
    expect(check({ options, headers: headersFor(String(NOW - 60)) })).toStrictEqual({ ok: true });
    expect(check({ options, headers: headersFor(String(NOW + 60)) })).toStrictEqual({ ok: true });
    expect(check({ options, headers: headersFor(String(NOW - 61)) })).toStrictEqual(stale);
    expect(check({ options, headers: headersFor(String(NOW + 61)) })).toStrictEqual(stale);
  });

  it('fails closed when the clock or tolerance is not a number', () => {
    expect(check({ nowSeconds: Number.NaN })).toStrictEqual(stale);
    expect(check({ options: { toleranceSeconds: Number.NaN } })).toStrictEqual(stale);
  });

  it('accepts either secret during a rotation', () => {
    const secrets = [SECRET, OTHER_SECRET];
    for (const signer of secrets) {
      expect(check({ headers: headersFor(String(NOW), signer), secrets })).toStrictEqual({ ok: true });
    }
  });

  it('refuses everything when no secret is configured, or only an empty one', () => {
    expect(check({ secrets: [] })).toStrictEqual(mismatch);
    expect(check({ headers: headersFor(String(NOW), ''), secrets: [''] })).toStrictEqual(mismatch);
  });
});
