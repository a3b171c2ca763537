import { describe, expect, it } from 'vitest';
import { forScript, isLosslessNumber, parseExactJson, stringifyExactJson } from './exact-json.js';

describe('exact JSON', () => {
  it('round-trips numbers a double cannot hold with their digits, and leaves the rest as JSON.parse would', () => {
    const cases = [
      '820982911946154508', '-9007199254740993', '0.12345678901234567890', '1e400', '123456789012345678901234567890.5',
      '{"id":820982911946154508,"n":[1,2.5,-3e-7,9007199254740993]}',
    ];
    for (const text of cases) expect(stringifyExactJson(parseExactJson(text))).toBe(text);
    expect(parseExactJson('{"a":1.5,"b":[true,null,"x"],"c":9007199254740991}')).toStrictEqual({ a: 1.5, b: [true, null, 'x'], c: 9007199254740991 });
    expect(isLosslessNumber((parseExactJson('{"id":820982911946154508}') as { id: unknown }).id)).toBe(true);
    // A double printed with 17 digits round-trips: it stays a number.
    expect(parseExactJson('[16.990000000000002,-0.30000000000000004]')).toStrictEqual([16.990000000000002, -0.30000000000000004]);
  });

  it('matches JSON.parse on repeated keys and refuses what is not JSON', () => {
    expect(parseExactJson('{"a":820982911946154508,"a":1}')).toStrictEqual({ a: 1 });
    expect(() => parseExactJson('{"a":820982911946154508,')).toThrow();
    expect(() => parseExactJson('{"a":1,')).toThrow(SyntaxError);
  });

  it('serialises like JSON.stringify where nothing is exact (undefined members, toJSON, nesting)', () => {
    const value = { a: undefined, b: [undefined, 1], c: new Date(0), d: 'x' };
    expect(stringifyExactJson(value)).toBe(JSON.stringify(value));
    expect(stringifyExactJson({ ...value, big: parseExactJson('820982911946154508') })).toBe(`${JSON.stringify(value).slice(0, -1)},"big":820982911946154508}`);
  });

  it('hands scripts strings of the digits, never a rounded number', () => {
    expect(forScript(parseExactJson('{"id":820982911946154508,"n":[7,0.12345678901234567890],"s":"t"}'))).toStrictEqual({ id: '820982911946154508', n: [7, '0.12345678901234567890'], s: 't' });
  });
});
