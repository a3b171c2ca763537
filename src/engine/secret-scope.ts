import { randomBytes } from 'node:crypto';
import { HookflowError, isHookflowError, toError } from '../errors/catalogue.js';
import { originOf } from './net/origin.js';

/** A decrypted workspace secret and the origins it may be sent to (empty: anywhere). */
export interface StepSecret {
  value: string;
  allowedOrigins: readonly string[];
}

/** How a step reaches its workspace's secrets; provided by the app (the engine never decrypts). */
export interface SecretAccess {
  /** Names of the workspace's secrets. */
  names(workspaceId: string): Promise<readonly string[]>;
  /** Decrypts the named secrets that exist. */
  reveal(workspaceId: string, names: readonly string[]): Promise<ReadonlyMap<string, StepSecret>>;
}

/** The memory variable `{{secrets.NAME}}` reads; reserved, whatever a trigger or step writes. */
export const SECRETS_VARIABLE = 'secrets';

/** How a secret shows in anything stored or answered: its name, never its value. */
export const secretPlaceholder = (name: string): string => `[secret:${name}]`;

// Private-use code points: JSON.stringify leaves them as they are, so a marker survives a
// rendered JSON body, and no webhook sender can forge one (the nonce is new for every step).
const OPEN = '\uE000';
const CLOSE = '\uE001';

/**
 * One step's view of `{{secrets.NAME}}`. Templates render against `memory`, where each secret
 * is an opaque marker, so rendered URLs, headers and bodies hold markers, never values.
 * `reveal` swaps the markers for the values at the moment of sending (after checking each
 * secret's allowed origins against the URL); `redact` turns values and markers in anything the
 * step returns or throws into `[secret:NAME]`, including what the called server echoed back.
 */
export class SecretScope {
  private readonly marker: RegExp;
  private readonly revealed = new Map<string, StepSecret>();

  private constructor(
    private readonly access: SecretAccess | undefined,
    private readonly workspaceId: string,
    nonce: string,
    /** The run's memory plus `secrets`: `{NAME: marker}`. */
    readonly memory: Readonly<Record<string, unknown>>,
  ) {
    this.marker = new RegExp(`${OPEN}${nonce}:([A-Za-z0-9_]+)${CLOSE}`, 'g');
  }

  /**
   * Opens a scope for a step whose templated fields are `fields`. The workspace's secret names
   * are read only when those fields mention `secrets` at all, so steps without secrets cost no query.
   */
  static async open(options: { access: SecretAccess | undefined; workspaceId: string; memory: Readonly<Record<string, unknown>>; fields: unknown }): Promise<SecretScope> {
    const nonce = randomBytes(6).toString('hex');
    const { [SECRETS_VARIABLE]: _shadowed, ...memory } = options.memory;
    const mentions = options.access !== undefined && JSON.stringify(options.fields ?? null).includes(SECRETS_VARIABLE);
    const names = mentions && options.access !== undefined ? await options.access.names(options.workspaceId) : [];
    const markers = Object.fromEntries(names.map((name) => [name, `${OPEN}${nonce}:${name}${CLOSE}`]));
    return new SecretScope(options.access, options.workspaceId, nonce, { ...memory, [SECRETS_VARIABLE]: markers });
  }

  /**
   * Replaces the markers in a rendered request with the secrets' values. A secret whose
   * `allowedOrigins` do not include the URL's origin is refused with a step error naming it.
   * Values inside a non-string body are substituted into its strings before it is serialised,
   * so they are escaped like any other string.
   */
  async reveal<B>(request: { url: string; headers: Record<string, string>; body: B }): Promise<{ url: string; headers: Record<string, string>; body: B }> {
    const used = new Set<string>();
    collectMarkers(request, this.marker, used);
    if (used.size === 0) return request;
    if (this.access === undefined) throw new HookflowError('HOOKFLOW_ERR_INTERNAL', 'Workspace secrets are not available here');
    const secrets = await this.access.reveal(this.workspaceId, [...used]);
    for (const name of used) {
      const secret = secrets.get(name);
      if (secret === undefined) throw new HookflowError('HOOKFLOW_ERR_TEMPLATE', `Unknown secret "${name}" (deleted?)`);
      this.revealed.set(name, secret);
    }
    const substitute = (text: string): string => text.replace(this.marker, (_whole, name: string) => this.revealed.get(name)?.value ?? '');
    const url = substitute(request.url);
    const origin = originOf(url);
    for (const name of used) {
      const allowed = this.revealed.get(name)?.allowedOrigins ?? [];
      if (allowed.length > 0 && (origin === undefined || !allowed.includes(origin))) {
        throw new HookflowError('HOOKFLOW_ERR_SECRET_DESTINATION', `Secret "${name}" may not be sent to ${origin ?? 'this URL'} (allowed: ${allowed.join(', ')})`);
      }
    }
    return {
      url,
      headers: Object.fromEntries(Object.entries(request.headers).map(([key, value]) => [key, substitute(value)])),
      body: mapStrings(request.body, substitute) as B,
    };
  }

  /**
   * Returns `value` with every secret this step revealed, and every marker, replaced by
   * `[secret:NAME]` — in strings and object keys at any depth. A value is also found in its
   * JSON-escaped and URL-encoded spellings, the forms an echoing server most often uses.
   */
  redact<T>(value: T): T {
    return mapStrings(value, (text) => this.redactText(text)) as T;
  }

  /**
   * Runs the step's work, redacting what it throws: the message and details. The cause is
   * dropped when the step used secrets, since a library's error may quote the request.
   */
  async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (thrown) {
      const error = isHookflowError(thrown) ? thrown : new HookflowError('HOOKFLOW_ERR_STEP_FAILED', toError(thrown).message, { cause: thrown });
      const message = this.redactText(error.message);
      if (this.revealed.size === 0 && message === error.message) throw error;
      throw new HookflowError(error.code, message, {
        transient: error.transient,
        ...(error.details === undefined ? {} : { details: this.redact(error.details) }),
        ...(error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds }),
      });
    }
  }

  private redactText(text: string): string {
    let result = text.replace(this.marker, (_whole, name: string) => secretPlaceholder(name));
    for (const [name, secret] of this.revealed) {
      for (const spelling of spellings(secret.value)) result = result.split(spelling).join(secretPlaceholder(name));
    }
    return result;
  }
}

function spellings(value: string): string[] {
  const forms = new Set([value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)]);
  // Longest first, so a longer spelling is not half-replaced by a shorter one inside it.
  return [...forms].filter((form) => form.length > 0).sort((a, b) => b.length - a.length);
}

function collectMarkers(value: unknown, marker: RegExp, into: Set<string>): void {
  mapStrings(value, (text) => {
    for (const match of text.matchAll(marker)) if (match[1] !== undefined) into.add(match[1]);
    return text;
  });
}

/** Copies plain data, applying `map` to every string and object key; other values stay as they are. */
function mapStrings(value: unknown, map: (text: string) => string): unknown {
  if (typeof value === 'string') return map(value);
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, map));
  if (typeof value === 'object' && value !== null && isPlain(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [map(key), mapStrings(item, map)]));
  }
  return value;
}

function isPlain(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
