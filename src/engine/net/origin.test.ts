import { describe, expect, it } from 'vitest';
import { originOf, requireSecretDestination, sameOrigin } from './origin.js';

describe('originOf', () => {
  it.each<[string, string | undefined]>([
    ['https://API.example.com:443/v1', 'https://api.example.com'],
    ['http://api.example.com:80', 'http://api.example.com'],
    ['http://127.0.0.1:11434/v1/', 'http://127.0.0.1:11434'],
    ['http://[0:0:0:0:0:0:0:1]:8000/x', 'http://[::1]:8000'],
    ['https://bücher.example/', 'https://xn--bcher-kva.example'],
    ['https://user:pw@api.example.com/', 'https://api.example.com'],
    ['ftp://example.com/', undefined],
    ['file:///etc/passwd', undefined],
    ['not a url', undefined],
    ['{{body.url}}', undefined],
  ])('%s → %s', (url, origin) => {
    expect(originOf(url)).toBe(origin);
  });
});

describe('sameOrigin', () => {
  it('compares scheme, host and port, nothing else', () => {
    expect(sameOrigin('https://api.example.com/v1', 'https://API.example.com:443/other?q=1')).toBe(true);
    expect(sameOrigin('https://api.example.com', 'http://api.example.com')).toBe(false);
    expect(sameOrigin('http://127.0.0.1:8000', 'http://127.0.0.1:8001')).toBe(false);
    expect(sameOrigin('https://api.example.com', 'https://api.example.com.evil.test')).toBe(false);
    expect(sameOrigin('not a url', 'not a url')).toBe(false);
  });
});

describe('requireSecretDestination', () => {
  it('passes a URL on a bound origin and refuses any other, naming the secret and never its value', () => {
    expect(() => requireSecretDestination({ secret: 'the API key of step "ask"', boundTo: ['http://127.0.0.1:9000'], url: 'http://127.0.0.1:9000/v1/chat/completions' })).not.toThrow();
    expect(() => requireSecretDestination({ secret: 'the API key of step "ask"', boundTo: ['http://127.0.0.1:9000'], url: 'http://127.0.0.1:9001/v1' })).toThrow(
      expect.objectContaining({
        code: 'HOOKFLOW_ERR_SECRET_DESTINATION',
        transient: false,
        message: 'the API key of step "ask" is bound to http://127.0.0.1:9000, not http://127.0.0.1:9001: re-enter the secret for the new destination',
      }),
    );
  });
});
