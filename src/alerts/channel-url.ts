import { isIP } from 'node:net';
import type { EgressPolicy } from '../engine/net/address-policy.js';
import { HookflowError } from '../errors/catalogue.js';

/** Longest channel URL, characters. */
export const CHANNEL_URL_MAX_LENGTH = 2048;

const refuse = (reason: string): HookflowError => new HookflowError('HOOKFLOW_ERR_VALIDATION', 'Invalid alert channel URL', { details: [`url: ${reason}`] });

/**
 * Checks a channel URL when it is saved, as data (nothing is sent to it): http or https, no
 * user info (it would be shown in every answer), and an address literal — or `localhost` —
 * that the egress guard (HOOKFLOW_EGRESS_ALLOWLIST) would refuse is refused now with the
 * guard's reason. A host name is checked again on its resolved addresses at every send.
 */
export function checkChannelUrl(url: string, policy: EgressPolicy): string {
  if (url.length > CHANNEL_URL_MAX_LENGTH) throw refuse(`longer than ${CHANNEL_URL_MAX_LENGTH} characters`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw refuse('not an absolute URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw refuse('must start with http:// or https://');
  if (parsed.username !== '' || parsed.password !== '') throw refuse('must not carry a user name or password');
  // The URL parser has already turned odd IPv4 spellings (0x7f000001, 127.1) into dotted quads.
  const host = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  const port = parsed.port === '' ? (parsed.protocol === 'https:' ? 443 : 80) : Number(parsed.port);
  const addresses = isIP(host) !== 0 ? [host] : host === 'localhost' || host.endsWith('.localhost') ? ['127.0.0.1', '::1'] : [];
  for (const address of addresses) {
    const verdict = policy.check(address, port);
    if (!verdict.allowed) throw refuse(`refused by the egress guard: ${verdict.reason}`);
  }
  return parsed.toString();
}
