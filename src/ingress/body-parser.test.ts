import { describe, expect, it } from 'vitest';
import { isHookflowError } from '../errors/catalogue.js';
import { parseBody } from './body-parser.js';

const parse = (body: string | Buffer, contentType?: string, maxJsonDepth = 64) => {
  const parsed = parseBody(Buffer.isBuffer(body) ? body : Buffer.from(body), { contentType, maxJsonDepth });
  // What is stored is the value the workflow sees.
  return JSON.parse(parsed.json) as unknown;
};

const badFormat = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return isHookflowError(error, 'HOOKFLOW_ERR_BAD_REQUEST_FORMAT');
  }
  return false;
};

describe('parseBody', () => {
  it('parses JSON and +json', () => {
    expect(parse('{"a":1}', 'application/json')).toEqual({ a: 1 });
    expect(parse('[1,"x"]', 'application/cloudevents+json; charset=utf-8')).toEqual([1, 'x']);
  });

  it('refuses prototype poisoning, bad JSON and deep nesting', () => {
    expect(badFormat(() => parse('{"__proto__":{"x":1}}', 'application/json'))).toBe(true);
    expect(badFormat(() => parse('{"a":{"constructor":{"prototype":{}}}}', 'application/json'))).toBe(true);
    // Escapes may spell the dangerous names too.
    expect(badFormat(() => parse('{"\\u005f_proto__":{"x":1}}', 'application/json'))).toBe(true);
    expect(badFormat(() => parse('{"a":{"\\u0063onstructor":{"prototype":{}}}}', 'application/json'))).toBe(true);
    // A key merely named constructor, without a prototype under it, is ordinary data.
    expect(parse('{"constructor":"Ada","tags":["__proto__"]}', 'application/json')).toEqual({ constructor: 'Ada', tags: ['__proto__'] });
    expect(badFormat(() => parse('{"a":', 'application/json'))).toBe(true);
    expect(badFormat(() => parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`, 'application/json'))).toBe(true);
    expect(badFormat(() => parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`))).toBe(true);
    // The limit itself is allowed; one level more is not.
    expect(parse(`${'['.repeat(4)}${']'.repeat(4)}`, 'application/json', 4)).toEqual([[[[]]]]);
    expect(badFormat(() => parse(`{"a":${'['.repeat(4)}${']'.repeat(4)}}`, 'application/json', 4))).toBe(true);
  });

  it('decodes text with its charset and refuses invalid bytes', () => {
    expect(parse('héllo', 'text/plain')).toBe('héllo');
    expect(parse(Buffer.from([0x68, 0xe9]), 'text/plain; charset=iso-8859-1')).toBe('hé');
    expect(badFormat(() => parse(Buffer.from([0xff, 0xfe, 0xfd]), 'text/plain'))).toBe(true);
    expect(badFormat(() => parse('x', 'text/plain; charset=klingon'))).toBe(true);
  });

  it('parses forms with repeated fields, refusing __proto__', () => {
    expect(parse('a=1&a=2&b=%F0%9F%98%80', 'application/x-www-form-urlencoded')).toEqual({ a: ['1', '2'], b: '😀' });
    expect(badFormat(() => parse('__proto__=1', 'application/x-www-form-urlencoded'))).toBe(true);
  });

  it('guesses untyped bodies: JSON, else text, empty is null', () => {
    expect(parse('{"x":true}')).toEqual({ x: true });
    expect(parse('plain words')).toBe('plain words');
    expect(parse('')).toBeNull();
    expect(badFormat(() => parse('{"__proto__":{}}'))).toBe(true);
  });

  it('keeps anything else as base64', () => {
    expect(parse(Buffer.from([1, 2, 3]), 'image/png')).toEqual({ contentType: 'image/png', encoding: 'base64', data: 'AQID' });
  });
});
