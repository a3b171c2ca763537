import { describe, expect, it } from 'vitest';
import { getSignatureScheme, type SignatureOptions, type SignatureSchemeName } from '../ingress/signatures/index.js';
import { signDelivery } from './sign-delivery.js';

const NOW = 1_700_000_000;
const BODY = Buffer.from('{"event":"order_completed","order_id":"12345"}');

const cases: { scheme: SignatureSchemeName; secret: string; options?: SignatureOptions }[] = [
  { scheme: 'github', secret: 'gh-secret' },
  { scheme: 'stripe', secret: 'whsec_stripe' },
  { scheme: 'slack', secret: 'slack-signing' },
  { scheme: 'shopify', secret: 'shopify-secret' },
  { scheme: 'standard-webhooks', secret: `whsec_${Buffer.from('standard-key-bytes').toString('base64')}` },
  { scheme: 'hmac-sha256', secret: 'generic', options: { header: 'x-acme-signature', encoding: 'base64', prefix: 'sha256=' } },
  { scheme: 'hmac-sha256', secret: 'generic' },
];

describe('signDelivery', () => {
  it.each(cases)('signs $scheme so that hookflow\'s own verifier accepts it, and only with that secret', ({ scheme, secret, options }) => {
    const headers = signDelivery({ scheme, secret, rawBody: BODY, nowSeconds: NOW, ...(options === undefined ? {} : { options }) });
    const verify = (secrets: string[], body = BODY) => getSignatureScheme(scheme).verify({ rawBody: body, headers, secrets, nowSeconds: NOW + 10, options: options ?? {} });
    expect(verify([secret])).toEqual({ ok: true });
    expect(verify([scheme === 'standard-webhooks' ? `whsec_${Buffer.from('other').toString('base64')}` : 'wrong-secret'])).toMatchObject({ ok: false });
    expect(verify([secret], Buffer.from('{"tampered":true}'))).toMatchObject({ ok: false });
  });

  it("matches GitHub's published example", () => {
    const headers = signDelivery({ scheme: 'github', secret: "It's a Secret to Everybody", rawBody: Buffer.from('Hello, World!'), nowSeconds: NOW });
    expect(headers).toEqual({ 'x-hub-signature-256': 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17' });
  });

  it('refuses a standard-webhooks secret that is not base64', () => {
    expect(() => signDelivery({ scheme: 'standard-webhooks', secret: '!!!', rawBody: BODY, nowSeconds: NOW })).toThrow(/base64/);
  });
});
