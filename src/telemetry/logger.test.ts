import { describe, expect, it } from 'vitest';
import { redactUrl } from './logger.js';

describe('redactUrl', () => {
  it('blanks every key parameter, however its name is spelled or encoded', () => {
    expect(redactUrl('/api/webhook/a/b?key=s3cret')).toBe('/api/webhook/a/b?key=[redacted]');
    expect(redactUrl('/api/webhook/a/b?x=1&key=s3cret&y=2')).toBe('/api/webhook/a/b?x=1&key=[redacted]&y=2');
    expect(redactUrl('/api/webhook/a/b?%6Bey=s3cret')).toBe('/api/webhook/a/b?%6Bey=[redacted]');
    expect(redactUrl('/api/webhook/a/b?k%65y=s3cret&KEY=s3cret')).toBe('/api/webhook/a/b?k%65y=[redacted]&KEY=[redacted]');
    expect(redactUrl('/api/webhook/a/b?%E0%A4%A=s3cret')).toBe('/api/webhook/a/b?%E0%A4%A=[redacted]');
  });

  it('leaves other parameters and URLs without a query alone', () => {
    expect(redactUrl('/api/webhook/a/b')).toBe('/api/webhook/a/b');
    expect(redactUrl('/api/webhook/a/b?monkey=1&keys=2&flag')).toBe('/api/webhook/a/b?monkey=1&keys=2&flag');
  });
});
