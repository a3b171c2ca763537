import { describe, expect, it } from 'vitest';

import { getSignatureScheme, signatureHeaderNames } from './index.js';
import type { SignatureCheckInput, SignatureFailureReason, SignatureSchemeName } from './index.js';
import { seededRandom } from '../../../test/helpers/random.js';

const NAMES: readonly SignatureSchemeName[] = [
  'github',
  'stripe',
  'slack',
  'shopify',
  'standard-webhooks',
  'hmac-sha256',
];

const REASONS: readonly SignatureFailureReason[] = [
  'missing_header',
  'malformed_header',
  'timestamp_out_of_tolerance',
  'signature_mismatch',
];

describe('signature scheme registry', () => {
  it('returns a scheme under every name, carrying that name', () => {
    for (const name of NAMES) expect(getSignatureScheme(name).name).toBe(name);
  });

  it('hands out frozen schemes, so one trigger cannot alter another', () => {
    for (const name of NAMES) {
      const scheme = getSignatureScheme(name);
      expect(Object.isFrozen(scheme)).toBe(true);
      expect(Object.isFrozen(scheme.headerNames)).toBe(true);
    }
  });

  it('names the headers each scheme reads, including a configured hmac-sha256 header', () => {
    expect(signatureHeaderNames('github', {})).toStrictEqual(['x-hub-signature-256']);
    expect(signatureHeaderNames('stripe', {})).toStrictEqual(['stripe-signature']);
    expect(signatureHeaderNames('slack', {})).toStrictEqual(['x-slack-signature', 'x-slack-request-timestamp']);
    expect(signatureHeaderNames('shopify', {})).toStrictEqual(['x-shopify-hmac-sha256']);
    expect(signatureHeaderNames('standard-webhooks', {})).toStrictEqual([
      'webhook-id',
      'webhook-timestamp',
      'webhook-signature',
      'svix-id',
      'svix-timestamp',
      'svix-signature',
    ]);
    expect(signatureHeaderNames('hmac-sha256', {})).toStrictEqual(['x-signature']);
    expect(signatureHeaderNames('hmac-sha256', { header: 'X-Acme-Sig' })).toStrictEqual(['x-acme-sig']);
  });
});

describe('every scheme on hostile input', () => {

  const headerValues: readonly unknown[] = [
    undefined,
    '',
    ' ',
    'garbage',
    'sha256=',
    'sha256=zz',
    `sha256=${'0'.repeat(64)}`,
    'v0=',
    'v1,',
    ',',
    '=',
    't=',
    't=1700000000',
    't=1700000000,v1=',
    't=NaN,v1=00',
    't=1e400,v1=00',
    'v1a,AAAA v1,==== v1,AAAA',
    '1700000000',
    '-1',
    '9'.repeat(400),
    'msg_1',
    '\u0000\uffff\ud800',
    'A'.repeat(10_000),
    [],
    ['x', 'y'],
    ['1700000000'],
    // Outside the declared types, as a broken caller or proxy might pass them.
    42,
    null,
    {},
    [undefined],
    [42],
  ];
  const headerNames = [
    'x-hub-signature-256',
    'stripe-signature',
    'x-slack-signature',
    'x-slack-request-timestamp',
    'x-shopify-hmac-sha256',
    'webhook-id',
    'webhook-timestamp',
    'webhook-signature',
    'x-signature',
  ];
  const secretLists: readonly (readonly string[])[] = [[], [''], ['whsec_'], ['whsec_!!'], ['s'], ['s', 'whsec_AAAA']];
  const clocks = [1_700_000_000, 0, -1, Number.NaN, Number.POSITIVE_INFINITY];
  const optionSets = [
    {},
    { toleranceSeconds: Number.NaN },
    { toleranceSeconds: -1 },
    { toleranceSeconds: Number.POSITIVE_INFINITY },
    { encoding: 'base64' as const, prefix: 'sha256=' },
    { header: 'constructor' },
    { encoding: 'rot13' as unknown as 'hex' },
  ];

  it('never throws, never accepts, and reports only a known reason', () => {
    const next = seededRandom(20_240_601);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
    const unexpected: unknown[] = [];
    for (let round = 0; round < 1000; round++) {
      const headers: Record<string, unknown> = {};
      for (const name of headerNames) {
        if (next() < 0.7) headers[name] = pick(headerValues);
      }
      const input = {
        rawBody: next() < 0.5 ? Buffer.alloc(0) : Buffer.from('{"a":1}'),
        headers: headers as SignatureCheckInput['headers'],
        secrets: pick(secretLists),
        nowSeconds: pick(clocks),
        options: pick(optionSets),
      };
      for (const name of NAMES) {
        const result = getSignatureScheme(name).verify(input);
        // Only `ok: false` and a reason from the closed list: nothing secret can ride along.
        const wellFormed = !result.ok && Object.keys(result).join() === 'ok,reason' && REASONS.includes(result.reason);
        if (!wellFormed) unexpected.push({ name, input, result });
      }
    }
    expect(unexpected).toStrictEqual([]);
  });
});
