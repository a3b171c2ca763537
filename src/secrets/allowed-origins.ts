/*
 * Origins (scheme, host, port) as workspace secrets name them in `allowedOrigins`. Written here,
 * below both workflows/ (which validates the list) and engine/ (which checks it before sending);
 * the WHATWG URL parser does the normalising, so `https://API.example.com:443` and
 * `https://api.example.com` are one origin.
 */

/**
 * The normalised origin of an `http:`/`https:` origin string such as `https://api.example.com:8443`,
 * or null when `text` is not exactly an origin (a path, query, fragment or credentials are refused,
 * so nobody believes a secret is limited to a path).
 */
export function parseAllowedOrigin(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') return null;
  if (url.pathname !== '/') return null;
  return url.origin;
}
