import { describe, expect, it } from 'vitest';
import { redactUrl } from './logger.js';

describe('redactUrl', () => {
  it('blanks every query value and keeps the names, however they are spelled or encoded', () => {
    expect(redactUrl('/api/webhook/a/b?key=s3cret')).toBe('/api/webhook/a/b?key=[redacted]');
    expect(redactUrl('/api/webhook/a/b?x=1&key=s3cret&y=2')).toBe('/api/webhook/a/b?x=[redacted]&key=[redacted]&y=[redacted]');
    expect(redactUrl('/api/webhook/a/b?%6Bey=s3cret')).toBe('/api/webhook/a/b?%6Bey=[redacted]');
    expect(redactUrl('/api/webhook/a/b?apikey=s3cret&access_token=s3cret')).toBe('/api/webhook/a/b?apikey=[redacted]&access_token=[redacted]');
    expect(redactUrl('/api/webhook/a/b?%E0%A4%A=s3cret')).toBe('/api/webhook/a/b?%E0%A4%A=[redacted]');
    expect(redactUrl('/api/webhook/a/b?k=a=b')).toBe('/api/webhook/a/b?k=[redacted]');
    expect(redactUrl('/api/webhook/a/b?hub.mode=subscribe&hub.verify_token=t0k3n')).toBe('/api/webhook/a/b?hub.mode=[redacted]&hub.verify_token=[redacted]');
  });

  it('drops a parameter without a value whole: it could be a pasted key', () => {
    expect(redactUrl('/api/webhook/a/b?sk-live-s3cret&flag=1')).toBe('/api/webhook/a/b?[redacted]&flag=[redacted]');
    expect(redactUrl('/api/webhook/a/b?&&')).toBe('/api/webhook/a/b?&&');
  });

  it('blanks everything after #, before or after a query', () => {
    expect(redactUrl('/api/webhook/a/b#key=s3cret')).toBe('/api/webhook/a/b#[redacted]');
    expect(redactUrl('/api/webhook/a/b?x=1#key=s3cret')).toBe('/api/webhook/a/b?x=[redacted]#[redacted]');
    expect(redactUrl('/api/webhook/a/b#x?key=s3cret')).toBe('/api/webhook/a/b#[redacted]');
  });

  it('leaves URLs without a query or fragment alone', () => {
    expect(redactUrl('/api/webhook/a/b')).toBe('/api/webhook/a/b');
    expect(redactUrl('/api/workspaces/ws/workflows')).toBe('/api/workspaces/ws/workflows');
  });
});
