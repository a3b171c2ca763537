import { createHmac } from 'node:crypto';
import { matchesAnyDigest, secretDigest } from '../secrets/constant-time.js';

/**
 * Provider handshakes: the requests some senders make to prove a URL is theirs before (and while)
 * they deliver events. Each is answered exactly as its provider documents it, only once the
 * request is authenticated, and never starts a run.
 *
 * | provider | request | answer |
 * |---|---|---|
 * | slack (any trigger with the `slack` signature) | signed POST `{"type":"url_verification","challenge":…}` | 200 text/plain: the challenge |
 * | meta (WhatsApp, Instagram, Messenger) | GET `?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…` | 200 text/plain: the challenge, when the verify token matches |
 * | zoom | POST `{"event":"endpoint.url_validation","payload":{"plainToken":…}}` | 200 JSON `{plainToken, encryptedToken: hex HMAC-SHA256(secret token, plainToken)}` |
 * | graph (Microsoft Graph) | POST `?validationToken=…` | 200 text/plain: the token |
 * | x (X / Twitter CRC) | GET `?crc_token=…` | 200 JSON `{"response_token":"sha256=" + base64 HMAC-SHA256(consumer secret, crc_token)}` |
 * | dropbox | GET `?challenge=…` | 200 text/plain: the challenge, `X-Content-Type-Options: nosniff` |
 */
export type HandshakeProvider = 'slack' | 'meta' | 'zoom' | 'graph' | 'x' | 'dropbox';

/** What the trigger says about handshakes (its `handshake.provider`, and whether it verifies Slack signatures). */
export interface HandshakeSettings {
  provider: HandshakeProvider | undefined;
  /** The provider's write-only secret (Meta's verify token, Zoom's secret token, X's consumer secret). */
  secret: string | undefined;
}

/** A handshake's answer, sent instead of the accepted JSON. */
export interface HandshakeAnswer {
  provider: HandshakeProvider;
  status: 200;
  contentType: string;
  body: string;
  headers: Readonly<Record<string, string>>;
}

/** The parts of a request a handshake reads. */
export interface HandshakeRequest {
  query: Readonly<Record<string, unknown>>;
  /** The body as received; empty for a GET. */
  rawBody: Buffer;
}

/** The result of looking at a request: not a handshake, a handshake to answer, or one refused (wrong verify token). */
export type HandshakeOutcome = { kind: 'none' } | { kind: 'answer'; answer: HandshakeAnswer } | { kind: 'refused'; provider: HandshakeProvider; reason: string };

/** Longest challenge echoed back (the providers' own are well under 100 characters). */
const MAX_CHALLENGE_LENGTH = 1024;

const NONE: HandshakeOutcome = { kind: 'none' };

/** Whether a trigger's handshake comes as a GET (Meta, X, Dropbox). */
export function handshakeUsesGet(provider: HandshakeProvider | undefined): boolean {
  return provider !== undefined && GET_MARKER[provider] !== undefined;
}

/** The query parameter that marks a provider's GET handshake (any other GET is a delivery, or a 405). */
const GET_MARKER: Readonly<Partial<Record<HandshakeProvider, string>>> = { meta: 'hub.mode', x: 'crc_token', dropbox: 'challenge' };

/** Whether a GET is the provider's handshake (it carries the provider's marker parameter). */
export function isGetHandshake(provider: HandshakeProvider | undefined, query: Readonly<Record<string, unknown>>): boolean {
  const marker = provider === undefined ? undefined : GET_MARKER[provider];
  return marker !== undefined && query[marker] !== undefined;
}

/**
 * The handshake a GET makes, for a trigger whose provider handshakes with GET. A GET that carries
 * none of the provider's parameters is no handshake (`none`).
 */
export function getHandshake(settings: HandshakeSettings, request: HandshakeRequest): HandshakeOutcome {
  switch (settings.provider) {
    case 'meta': {
      if (request.query['hub.mode'] !== 'subscribe') return NONE;
      const challenge = textParameter(request.query['hub.challenge']);
      const token = textParameter(request.query['hub.verify_token']);
      if (challenge === undefined) return NONE;
      // Constant time, and never "equal" when no token is configured.
      if (settings.secret === undefined || token === undefined || !matchesAnyDigest(token, [secretDigest(settings.secret)])) {
        return { kind: 'refused', provider: 'meta', reason: 'handshake_invalid_verify_token' };
      }
      return plainText('meta', challenge);
    }
    case 'x': {
      const token = textParameter(request.query['crc_token']);
      if (token === undefined || settings.secret === undefined) return NONE;
      const responseToken = `sha256=${createHmac('sha256', settings.secret).update(token).digest('base64')}`;
      return json('x', { response_token: responseToken });
    }
    case 'dropbox': {
      const challenge = textParameter(request.query['challenge']);
      if (challenge === undefined) return NONE;
      return plainText('dropbox', challenge);
    }
    default:
      return NONE;
  }
}

/**
 * The handshake an authenticated POST makes (signature verified, or key checked), or `none` for an
 * ordinary delivery. Slack's applies to every trigger that verifies Slack signatures.
 */
export function postHandshake(settings: HandshakeSettings & { slackSigned: boolean }, request: HandshakeRequest): HandshakeOutcome {
  if (settings.slackSigned) {
    const body = smallJsonObject(request.rawBody, 'url_verification');
    if (body?.['type'] === 'url_verification') {
      const challenge = textParameter(body['challenge']);
      if (challenge !== undefined) return plainText('slack', challenge);
    }
  }
  switch (settings.provider) {
    case 'graph': {
      const token = textParameter(request.query['validationToken']);
      return token === undefined ? NONE : plainText('graph', token);
    }
    case 'zoom': {
      const body = smallJsonObject(request.rawBody, 'endpoint.url_validation');
      if (body?.['event'] !== 'endpoint.url_validation' || settings.secret === undefined) return NONE;
      const payload = body['payload'];
      const plainToken = typeof payload === 'object' && payload !== null ? textParameter((payload as Record<string, unknown>)['plainToken']) : undefined;
      if (plainToken === undefined) return NONE;
      const encryptedToken = createHmac('sha256', settings.secret).update(plainToken).digest('hex');
      return json('zoom', { plainToken, encryptedToken });
    }
    default:
      return NONE;
  }
}

function textParameter(value: unknown): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  return typeof text === 'string' && text.length > 0 && text.length <= MAX_CHALLENGE_LENGTH ? text : undefined;
}

/**
 * The body as a JSON object, only when it is small and mentions `marker`: handshakes are tiny, and
 * an ordinary delivery (possibly megabytes) is not parsed twice on the hot path.
 */
function smallJsonObject(rawBody: Buffer, marker: string): Record<string, unknown> | undefined {
  if (rawBody.length === 0 || rawBody.length > 8192 || !rawBody.includes(marker)) return undefined;
  try {
    const value: unknown = JSON.parse(rawBody.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function plainText(provider: HandshakeProvider, body: string): HandshakeOutcome {
  // nosniff: the echoed text is the caller's, and must never be taken for HTML by a browser.
  return { kind: 'answer', answer: { provider, status: 200, contentType: 'text/plain; charset=utf-8', body, headers: { 'x-content-type-options': 'nosniff' } } };
}

function json(provider: HandshakeProvider, value: Record<string, string>): HandshakeOutcome {
  return { kind: 'answer', answer: { provider, status: 200, contentType: 'application/json; charset=utf-8', body: JSON.stringify(value), headers: {} } };
}
