import { describe, expect, it } from 'vitest';
import { idempotencyKeyOf } from './idempotency.js';

describe('idempotencyKeyOf', () => {
  it('takes the configured header, else the first default one present', () => {
    expect(idempotencyKeyOf({ 'x-delivery': 'd-1', 'idempotency-key': 'i-1' }, 'x-delivery')).toBe('d-1');
    expect(idempotencyKeyOf({ 'webhook-id': 'w-1', 'x-github-delivery': 'g-1' }, undefined)).toBe('g-1');
    expect(idempotencyKeyOf({}, undefined)).toBeNull();
  });

  it('never takes a credential header, even when a definition saved before the save-time check names it', () => {
    const headers = { 'x-webhook-key': 'the-shared-key', authorization: 'Bearer the-shared-key', cookie: 's=1', 'proxy-authorization': 'Basic eA==' };
    for (const name of Object.keys(headers)) expect(idempotencyKeyOf(headers, name)).toBeNull();
  });
});
