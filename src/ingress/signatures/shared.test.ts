import { describe, expect, it } from 'vitest';

import { decodeBase64, decodeHex, parseUnixSeconds, readHeader, withinTolerance } from './shared.js';
import type { SignatureCheckInput } from './types.js';

describe('readHeader', () => {
  it('returns a trimmed single value', () => {
    expect(readHeader({ a: '  v  ' }, 'a')).toStrictEqual({ ok: true, value: 'v' });
    expect(readHeader({ a: ['v'] }, 'a')).toStrictEqual({ ok: true, value: 'v' });
  });

  it('reports absence, emptiness and repetition', () => {
    expect(readHeader({}, 'a')).toStrictEqual({ ok: false, reason: 'missing_header' });
    expect(readHeader({ a: undefined }, 'a')).toStrictEqual({ ok: false, reason: 'missing_header' });
    expect(readHeader({ a: [] }, 'a')).toStrictEqual({ ok: false, reason: 'missing_header' });
    expect(readHeader({ a: '' }, 'a')).toStrictEqual({ ok: false, reason: 'malformed_header' });
    expect(readHeader({ a: ['x', 'y'] }, 'a')).toStrictEqual({ ok: false, reason: 'malformed_header' });
  });

  it('never reads inherited properties as headers', () => {
    expect(readHeader({}, 'constructor')).toStrictEqual({ ok: false, reason: 'missing_header' });
    expect(readHeader({}, '__proto__')).toStrictEqual({ ok: false, reason: 'missing_header' });
  });
});

describe('parseUnixSeconds', () => {
  it('accepts canonical decimal seconds only', () => {
    expect(parseUnixSeconds('0')).toBe(0);
    expect(parseUnixSeconds('1700000000')).toBe(1_700_000_000);
    for (const text of ['', ' 1', '01', '-1', '+1', '1.0', '1e9', '0x10', 'NaN', 'Infinity', '9'.repeat(16)]) {
      expect(parseUnixSeconds(text)).toBeUndefined();
    }
  });
});

describe('withinTolerance', () => {
  const input = (nowSeconds: number, toleranceSeconds?: number): SignatureCheckInput => ({
    rawBody: Buffer.alloc(0),
    headers: {},
    secrets: [],
    nowSeconds,
    options: toleranceSeconds === undefined ? {} : { toleranceSeconds },
  });

  it('includes both edges of the window and excludes the second past them', () => {
    expect(withinTolerance(1000, input(1300))).toBe(true);
    expect(withinTolerance(1000, input(700))).toBe(true);
    expect(withinTolerance(1000, input(1301))).toBe(false);
    expect(withinTolerance(1000, input(699))).toBe(false);
    expect(withinTolerance(1000, input(1000, 0))).toBe(true);
    expect(withinTolerance(1000, input(1001, 0))).toBe(false);
  });
});

describe('strict decoders', () => {
  it('decode hex only when every character is a hex digit pair', () => {
    expect(decodeHex('00ffAB')).toStrictEqual(Buffer.from([0x00, 0xff, 0xab]));
    expect(decodeHex('')).toStrictEqual(Buffer.alloc(0));
    for (const text of ['0', '0g', 'zz', '00 ff']) expect(decodeHex(text)).toBeUndefined();
  });

  it('decode padded standard base64 only', () => {
    expect(decodeBase64('YWJj')).toStrictEqual(Buffer.from('abc'));
    expect(decodeBase64('YWI=')).toStrictEqual(Buffer.from('ab'));
    expect(decodeBase64('YQ==')).toStrictEqual(Buffer.from('a'));
    for (const text of ['YWI', 'YQ', 'Y Q==', 'a-b_', 'YQ==YQ==', '====', 'Y===']) {
      expect(decodeBase64(text)).toBeUndefined();
    }
  });
});
