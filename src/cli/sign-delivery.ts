import { randomUUID } from 'node:crypto';
import { hmacSha256HeaderName } from '../ingress/signatures/hmac-sha256.js';
import { hmacSha256 } from '../ingress/signatures/shared.js';
import { standardWebhooksKeys } from '../ingress/signatures/standard-webhooks.js';
import type { SignatureOptions, SignatureSchemeName } from '../ingress/signatures/types.js';

/** What a sender needs to sign one delivery the way the provider would. */
export interface SignRequest {
  scheme: SignatureSchemeName;
  secret: string;
  rawBody: Buffer;
  /** Unix seconds, for the timestamped schemes. */
  nowSeconds: number;
  /** hmac-sha256's header, encoding and prefix, as the trigger defines them. */
  options?: SignatureOptions;
}

/**
 * The headers that sign `rawBody` for `scheme`: the mirror of src/ingress/signatures/ (same
 * HMAC helper, same key decoding), checked against those verifiers by sign-delivery.test.ts.
 */
export function signDelivery(request: SignRequest): Record<string, string> {
  const { secret, rawBody } = request;
  const timestamp = String(request.nowSeconds);
  switch (request.scheme) {
    case 'github':
      return { 'x-hub-signature-256': `sha256=${hmacSha256(secret, [rawBody]).toString('hex')}` };
    case 'stripe':
      return { 'stripe-signature': `t=${timestamp},v1=${hmacSha256(secret, [`${timestamp}.`, rawBody]).toString('hex')}` };
    case 'slack':
      return { 'x-slack-request-timestamp': timestamp, 'x-slack-signature': `v0=${hmacSha256(secret, [`v0:${timestamp}:`, rawBody]).toString('hex')}` };
    case 'shopify':
      return { 'x-shopify-hmac-sha256': hmacSha256(secret, [rawBody]).toString('base64') };
    case 'standard-webhooks': {
      const [key] = standardWebhooksKeys([secret]);
      if (key === undefined) throw new Error('a standard-webhooks secret is base64 (optionally prefixed whsec_)');
      const id = `msg_${randomUUID()}`;
      return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${hmacSha256(key, [`${id}.${timestamp}.`, rawBody]).toString('base64')}` };
    }
    case 'hmac-sha256': {
      const options = request.options ?? {};
      return { [hmacSha256HeaderName(options)]: `${options.prefix ?? ''}${hmacSha256(secret, [rawBody]).toString(options.encoding ?? 'hex')}` };
    }
  }
}
