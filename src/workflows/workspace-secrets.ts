import { HookflowError } from '../errors/catalogue.js';
import { parseAllowedOrigin } from '../secrets/allowed-origins.js';
import type { SecretCipher } from '../secrets/cipher.js';
import { workspaceSecretAssociatedData } from '../secrets/secret-purposes.js';
import type { Page, PageRequest, Store, WorkspaceSecretRecord } from '../store/store.js';

/** A workspace secret's name: what `{{secrets.NAME}}` can spell with the dot form. */
export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export interface WorkspaceSecretServiceOptions {
  store: Store;
  cipher: SecretCipher;
  clock: () => number;
  /** Longest value accepted, bytes of UTF-8 (HOOKFLOW_SECRET_MAX_BYTES). */
  maxValueBytes: number;
  /** Most entries in `allowedOrigins` (HOOKFLOW_SECRET_MAX_ORIGINS). */
  maxAllowedOrigins: number;
}

/** What the API shows of a workspace secret: never its value. */
export interface WorkspaceSecretView {
  name: string;
  allowedOrigins: string[];
  createdAt: string;
  updatedAt: string;
}

/** A decrypted workspace secret, handed to a step at the moment it sends. */
export interface RevealedSecret {
  value: string;
  /** Normalised origins it may be sent to; empty means anywhere. */
  allowedOrigins: readonly string[];
}

/**
 * Workspace secrets (`PUT/GET/DELETE /api/workspaces/:ws/secrets/:name`): write-only through
 * the API, encrypted at rest, decrypted only for a step that is about to send one.
 */
export class WorkspaceSecretService {
  constructor(private readonly options: WorkspaceSecretServiceOptions) {}

  /** Creates or replaces a secret; `created` says which (201 or 200). */
  async put(workspaceId: string, name: string, input: unknown): Promise<{ created: boolean; secret: WorkspaceSecretView }> {
    await this.requireWorkspace(workspaceId);
    if (!SECRET_NAME.test(name)) throw validation([`name: must match ${SECRET_NAME.source} (letters, digits, _; not starting with a digit)`]);
    const { value, allowedOrigins } = this.parseBody(input);
    const now = this.options.clock();
    const owner = { workspaceId, name, allowedOrigins };
    const record: WorkspaceSecretRecord = {
      ...owner,
      ciphertext: this.options.cipher.encrypt(value, workspaceSecretAssociatedData(owner)),
      createdAt: now,
      updatedAt: now,
    };
    const { created, createdAt } = await this.options.store.putWorkspaceSecret(record);
    return { created, secret: view({ ...record, createdAt }) };
  }

  async list(workspaceId: string, page: PageRequest): Promise<Page<WorkspaceSecretView>> {
    await this.requireWorkspace(workspaceId);
    const result = await this.options.store.listWorkspaceSecrets(workspaceId, page);
    return { items: result.items.map(view), nextCursor: result.nextCursor };
  }

  async delete(workspaceId: string, name: string): Promise<void> {
    await this.requireWorkspace(workspaceId);
    if (!(await this.options.store.deleteWorkspaceSecret(workspaceId, name))) {
      throw new HookflowError('HOOKFLOW_ERR_NOT_FOUND', `Secret "${name}" not found`);
    }
  }

  /** The names of a workspace's secrets (for save-time checks of `{{secrets.NAME}}`). */
  async listSecretNames(workspaceId: string): Promise<Set<string>> {
    return new Set((await this.options.store.getWorkspaceSecrets(workspaceId)).map((secret) => secret.name));
  }

  /** Decrypts the named secrets that exist; a name missing from the answer does not exist. */
  async reveal(workspaceId: string, names: readonly string[]): Promise<Map<string, RevealedSecret>> {
    const revealed = new Map<string, RevealedSecret>();
    if (names.length === 0) return revealed;
    for (const secret of await this.options.store.getWorkspaceSecrets(workspaceId, names)) {
      revealed.set(secret.name, { value: this.options.cipher.decrypt(secret.ciphertext, workspaceSecretAssociatedData(secret)), allowedOrigins: secret.allowedOrigins });
    }
    return revealed;
  }

  private async requireWorkspace(workspaceId: string): Promise<void> {
    if ((await this.options.store.getWorkspace(workspaceId)) === null) throw new HookflowError('HOOKFLOW_ERR_NOT_FOUND', `Workspace "${workspaceId}" not found`);
  }

  private parseBody(input: unknown): { value: string; allowedOrigins: string[] } {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) throw validation(['(root): expected a JSON object {"value": "…"}']);
    const body = input as Record<string, unknown>;
    const unknown = Object.keys(body).filter((key) => key !== 'value' && key !== 'allowedOrigins');
    if (unknown.length > 0) throw validation(unknown.map((key) => `${key}: unknown field`));
    const value = body['value'];
    if (typeof value !== 'string' || value.length === 0) throw validation(['value: must be a non-empty string']);
    if (Buffer.byteLength(value, 'utf8') > this.options.maxValueBytes) throw validation([`value: must be at most ${this.options.maxValueBytes} bytes`]);
    const origins = body['allowedOrigins'] ?? [];
    if (!Array.isArray(origins)) throw validation(['allowedOrigins: must be an array of origins such as "https://api.example.com"']);
    if (origins.length > this.options.maxAllowedOrigins) throw validation([`allowedOrigins: at most ${this.options.maxAllowedOrigins} entries`]);
    const problems: string[] = [];
    const allowedOrigins = new Set<string>();
    origins.forEach((origin: unknown, index) => {
      const parsed = typeof origin === 'string' ? parseAllowedOrigin(origin) : null;
      if (parsed === null) problems.push(`allowedOrigins[${index}]: must be an http(s) origin (scheme, host, optional port; no path), e.g. "https://api.example.com"`);
      else allowedOrigins.add(parsed);
    });
    if (problems.length > 0) throw validation(problems);
    return { value, allowedOrigins: [...allowedOrigins].sort() };
  }
}

function view(secret: WorkspaceSecretRecord): WorkspaceSecretView {
  return {
    name: secret.name,
    allowedOrigins: secret.allowedOrigins,
    createdAt: new Date(secret.createdAt).toISOString(),
    updatedAt: new Date(secret.updatedAt).toISOString(),
  };
}

function validation(details: string[]): HookflowError {
  return new HookflowError('HOOKFLOW_ERR_VALIDATION', details.join('; '), { details });
}
