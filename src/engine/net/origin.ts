import { HookflowError } from '../../errors/catalogue.js';

/**
 * The origin of an absolute http(s) URL as browsers compare them: `scheme://host[:port]`, host
 * lower-cased and punycoded, IPv6 in brackets, the scheme's default port left out (so
 * `https://API.example.com:443/v1` is `https://api.example.com`). Undefined for anything else,
 * including a URL still holding a `{{template}}` in its host.
 */
export function originOf(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined;
  return parsed.origin;
}

/** True when both are http(s) URLs (or origins) with the same scheme, host and port. */
export function sameOrigin(a: string, b: string): boolean {
  const origin = originOf(a);
  return origin !== undefined && origin === originOf(b);
}

/**
 * Refuses to send a secret anywhere but the origins it is bound to. `secret` names it for the
 * step's error (never its value); `boundTo` are origins or URLs. Throws
 * HOOKFLOW_ERR_SECRET_DESTINATION (permanent: retrying cannot move the destination).
 */
export function requireSecretDestination(options: { secret: string; boundTo: readonly string[]; url: string }): void {
  if (options.boundTo.some((bound) => sameOrigin(bound, options.url))) return;
  const target = originOf(options.url) ?? 'a URL that is not http(s)';
  const bound = options.boundTo.map((entry) => originOf(entry) ?? entry).join(', ');
  throw new HookflowError('HOOKFLOW_ERR_SECRET_DESTINATION', `${options.secret} is bound to ${bound}, not ${target}: re-enter the secret for the new destination`, {
    transient: false,
  });
}
