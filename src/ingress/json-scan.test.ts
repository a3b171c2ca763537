import { describe, expect, it } from 'vitest';
import { scanJson } from './json-scan.js';
import { seededRandom } from '../../test/helpers/random.js';

const parses = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

function depthOf(value: unknown): number {
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depthOf));
  if (value !== null && typeof value === 'object') return 1 + Math.max(0, ...Object.values(value).map(depthOf));
  return 0;
}

function randomValue(next: () => number, depth: number): unknown {
  const pick = Math.floor(next() * (depth > 4 ? 5 : 7));
  const strings = ['', 'a', 'x"y', 'back\\slash', 'tab\tnew\nline', 'é漢🙂', '\u0001', '\ud800', '[{', '__proto__'];
  switch (pick) {
    case 0: return null;
    case 1: return next() < 0.5;
    case 2: return [0, -0.5, 1e21, 123456789, -3.25e-7, 42][Math.floor(next() * 6)];
    case 3:
    case 4: return strings[Math.floor(next() * strings.length)];
    case 5: return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(next, depth + 1));
    default: {
      const object: Record<string, unknown> = {};
      for (let i = Math.floor(next() * 4); i > 0; i--) object[strings[Math.floor(next() * strings.length)] ?? 'k'] = randomValue(next, depth + 1);
      return object;
    }
  }
}

/** JSON.stringify with random legal whitespace between tokens. */
function withWhitespace(text: string, next: () => number): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    out += c;
    if (inString) {
      if (c === '\\') out += text[++i];
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if ('{}[],:'.includes(c) && next() < 0.3) out += [' ', '\n', '\t', '\r\n  '][Math.floor(next() * 4)];
  }
  return next() < 0.5 ? ` ${out}\n` : out;
}

describe('scanJson', () => {
  it('agrees with JSON.parse on the edge cases of the grammar', () => {
    const cases = [
      '', ' ', '0', '-0', '01', '-', '1.', '.5', '1e', '1e+', '1E-7', '+1', '1.5e3', '0x10', 'NaN', 'Infinity',
      'true', 'false', 'null', 'tru', 'nul', 'True', 'truex', '"', '""', '"a', '"\\"', '"\\u00"', '"\\u00e9"', '"\\x"', '"\\/"',
      '"a\tb"', '"a\u0000b"', '"\u007f"', '"\u2028"', '[]', '[', ']', '[,]', '[1,]', '[1 2]', '[1,,2]', '{}', '{', '{"a"}', '{"a":}',
      '{"a":1,}', '{,}', '{a:1}', "{'a':1}", '{"a":1 "b":2}', '{"a" : [ 1 , { "b" : null } ] }', '[[[]]]', '[[]', '[]]', '{}{}',
      '1 2', '\u00a01', '\ufeff1', '[1]\u0000', ' [ ] ', '{"__proto__":1}', '[-]', '[-1.0e-0]', '["\\ud800"]', '"\\uD83D\\uDE00"',
    ];
    for (const text of cases) expect(scanJson(text).valid, JSON.stringify(text)).toBe(parses(text));
  });

  it('accepts every value JSON.stringify writes, whatever the whitespace, and measures its depth', () => {
    const next = seededRandom(1);
    for (let n = 0; n < 3000; n++) {
      const value = randomValue(next, 0);
      const text = withWhitespace(JSON.stringify(value), next);
      const scan = scanJson(text);
      expect(scan.valid, text).toBe(true);
      expect(scan.depth, text).toBe(depthOf(value));
    }
  });

  it('agrees with JSON.parse on thousands of corrupted texts', () => {
    const next = seededRandom(2);
    const alphabet = ['{', '}', '[', ']', ',', ':', '"', '\\', 'u', '0', '1', '-', '.', 'e', ' ', 't', 'n', '\n', 'x', '\u0001'];
    let invalid = 0;
    for (let n = 0; n < 20_000; n++) {
      let text = JSON.stringify(randomValue(next, 0));
      for (let edits = 1 + Math.floor(next() * 3); edits > 0; edits--) {
        const at = Math.floor(next() * (text.length + 1));
        const char = alphabet[Math.floor(next() * alphabet.length)] as string;
        const kind = next();
        text = kind < 0.33 ? text.slice(0, at) + text.slice(at + 1) : kind < 0.66 ? text.slice(0, at) + char + text.slice(at) : text.slice(0, at) + char + text.slice(at + 1);
      }
      const expected = parses(text);
      if (!expected) invalid++;
      expect(scanJson(text).valid, JSON.stringify(text)).toBe(expected);
    }
    // The corpus really exercises refusals, not just valid texts.
    expect(invalid).toBeGreaterThan(5000);
  });

  it('flags keys that are or may spell __proto__ or constructor, and only keys', () => {
    expect(scanJson('{"__proto__":{}}').suspectKey).toBe(true);
    expect(scanJson('{"a":{"constructor":1}}').suspectKey).toBe(true);
    expect(scanJson('{"\\u005f_proto__":1}').suspectKey).toBe(true);
    expect(scanJson('{"a\\nb":1}').suspectKey).toBe(true);
    expect(scanJson('{"a":"__proto__","b":["constructor"]}').suspectKey).toBe(false);
    expect(scanJson('{"constructors":1,"__proto":2}').suspectKey).toBe(false);
  });

  it('scans very deep nesting without recursion', () => {
    expect(scanJson(`${'['.repeat(200_000)}${']'.repeat(200_000)}`)).toEqual({ valid: true, depth: 200_000, suspectKey: false });
    expect(scanJson('{"a":[{"b":[]}],"c":{}}').depth).toBe(4);
  });
});
