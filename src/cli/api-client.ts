import type { CliConfig } from '../config/cli-config.js';

/**
 * Exit codes of the client commands (docs/cli.md). Scripts rely on them: never renumber.
 */
export const EXIT = {
  ok: 0,
  /** The server failed (5xx) or could not be reached. */
  serverError: 1,
  /** Bad flags, files or environment: nothing was sent. */
  usage: 2,
  /** The server refused the input (400, 409, 413, 415, 429…). */
  refused: 3,
  /** 401 or 403: no valid token, or its role is too low. */
  unauthorized: 4,
  /** 404: no such workspace, workflow, run or token (or outside the token's workspace). */
  notFound: 5,
} as const;

/** An error that ends the command with `exitCode`; `message` is what the user sees. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
  }
}

/** The exit code for an HTTP status. */
export function exitCodeFor(status: number): number {
  if (status < 400) return EXIT.ok;
  if (status === 401 || status === 403) return EXIT.unauthorized;
  if (status === 404) return EXIT.notFound;
  if (status < 500) return EXIT.refused;
  return EXIT.serverError;
}

export interface ApiAnswer {
  status: number;
  body: unknown;
}

/** Calls the management API of `config.url` with `config.token`. */
export class ApiClient {
  constructor(private readonly config: CliConfig) {}

  /** One call; the answer whatever its status (callers decide), or CliError when the server cannot be reached. */
  async call(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<ApiAnswer> {
    if (this.config.token === undefined) throw new CliError('HOOKFLOW_TOKEN is not set (the admin token or an API token)', EXIT.usage);
    return this.send(`${this.config.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.config.token}`, ...(body === undefined ? {} : { 'content-type': contentType }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  /** Like `call`, but a status ≥ 400 is a CliError with its exit code and the server's message. */
  async expect(method: string, path: string, body?: unknown, contentType?: string): Promise<unknown> {
    const answer = await this.call(method, path, body, contentType);
    if (answer.status >= 400) throw new CliError(`${method} ${path}: ${answer.status} ${describeError(answer.body)}`, exitCodeFor(answer.status));
    return answer.body;
  }

  /** Every item of a paged list (`{items, nextCursor}`), following the cursor to the end. */
  async listAll(path: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let cursor: string | null = null;
    do {
      const separator = path.includes('?') ? '&' : '?';
      const page = (await this.expect('GET', `${path}${separator}limit=500${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`)) as { items: Record<string, unknown>[]; nextCursor: string | null };
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== null);
    return items;
  }

  /** A raw request to any URL of the server (the webhook endpoint takes no management token). */
  async send(url: string, init: RequestInit): Promise<ApiAnswer> {
    let response: Response;
    try {
      response = await fetch(url, { ...init, signal: AbortSignal.timeout(this.config.timeoutMs) });
    } catch (error) {
      throw new CliError(`cannot reach ${new URL(url).origin}: ${error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)}`, EXIT.serverError, { cause: error });
    }
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text === '' ? null : JSON.parse(text);
    } catch {
      // Not JSON (a proxy's error page): kept as text.
    }
    return { status: response.status, body };
  }
}

/** The server's error text and details, on one line. */
export function describeError(body: unknown): string {
  if (typeof body !== 'object' || body === null) return String(body);
  const { error, details } = body as { error?: unknown; details?: unknown };
  return [typeof error === 'string' ? error : JSON.stringify(body), Array.isArray(details) ? `(${details.join('; ')})` : ''].filter(Boolean).join(' ');
}

/** Splits `ws/id` into its two ids. */
export function splitRef(ref: string, what: string): [string, string] {
  const match = /^([A-Za-z0-9][A-Za-z0-9_-]{0,63})\/([A-Za-z0-9][A-Za-z0-9_-]{0,63})$/.exec(ref);
  if (match === null) throw new CliError(`expected <workspace>/<${what}>, got "${ref}"`, EXIT.usage);
  return [match[1] as string, match[2] as string];
}
