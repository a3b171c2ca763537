import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { describeIssues, RESOURCE_ID } from '../config/workflow-definition.js';
import { HookflowError } from '../errors/catalogue.js';
import { secretDigest } from '../secrets/constant-time.js';
import { newId } from '../store/ids.js';
import { TOKEN_ROLES, type ApiTokenRecord, type AuditRecord, type Page, type PageRequest, type Store, type TokenRole } from '../store/store.js';

/** Who is calling the management API: the admin token, or an API token. */
export interface Principal {
  /** `admin`, or the API token's id. */
  actorId: string;
  /** `admin`, or the API token's name. */
  actorName: string;
  role: TokenRole;
  /** The one workspace the caller may reach; null = every workspace. */
  workspaceId: string | null;
}

/** The admin token's principal: every role, every workspace. */
export const ADMIN_PRINCIPAL: Principal = Object.freeze({ actorId: 'admin', actorName: 'admin', role: 'admin', workspaceId: null });

/** How much each role may do; a role may do everything the roles below it may. */
const ROLE_RANK: Record<TokenRole, number> = { viewer: 0, editor: 1, admin: 2 };

/** True when `role` is `needed` or above. */
export function roleAtLeast(role: TokenRole, needed: TokenRole): boolean {
  return ROLE_RANK[role] >= ROLE_RANK[needed];
}

/** The body of `POST /api/tokens`. */
export const createTokenSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    role: z.enum(TOKEN_ROLES as [TokenRole, ...TokenRole[]]),
    workspaceId: z.string().regex(RESOURCE_ID, 'must be a workspace id').optional(),
  })
  .strict();

/** API tokens are `hft_` and 43 base64url characters (256 random bits). */
const TOKEN_PREFIX = 'hft_';

const digestHex = (token: string): string => secretDigest(token).toString('hex');

/**
 * API tokens (created, listed, revoked; only their SHA-256 is stored, so every node sharing the
 * database knows them and a revocation holds everywhere at once) and the audit log.
 */
export class AccessService {
  constructor(private readonly options: { store: Store; clock: () => number }) {}

  /** The principal a bearer token stands for, or null when it is unknown or revoked. */
  async authenticate(token: string): Promise<Principal | null> {
    // Not one of ours: spare the database the lookup.
    if (!token.startsWith(TOKEN_PREFIX)) return null;
    const record = await this.options.store.findApiTokenByDigest(digestHex(token));
    if (record === null || record.revokedAt !== null) return null;
    return { actorId: record.id, actorName: record.name, role: record.role, workspaceId: record.workspaceId };
  }

  /** Creates a token; the answer carries it this once. A workspace-scoped caller creates tokens for its own workspace only. */
  async createToken(input: unknown, caller: Principal): Promise<Record<string, unknown>> {
    const parsed = createTokenSchema.safeParse(input);
    if (!parsed.success) throw new HookflowError('HOOKFLOW_ERR_VALIDATION', 'Invalid token', { details: describeIssues(parsed.error) });
    const workspaceId = parsed.data.workspaceId ?? null;
    if (caller.workspaceId !== null && workspaceId !== caller.workspaceId) {
      throw new HookflowError('HOOKFLOW_ERR_FORBIDDEN_ROLE', 'A workspace token can only create tokens for its own workspace');
    }
    if (workspaceId !== null && (await this.options.store.getWorkspace(workspaceId)) === null) {
      throw new HookflowError('HOOKFLOW_ERR_NOT_FOUND', `Workspace "${workspaceId}" not found`);
    }
    const now = this.options.clock();
    const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const record: ApiTokenRecord = { id: newId('tok', now), name: parsed.data.name, role: parsed.data.role, workspaceId, digestHex: digestHex(token), createdAt: now, revokedAt: null };
    await this.options.store.createApiToken(record);
    return { ...tokenView(record), token };
  }

  /** Tokens the caller may see: all of them, or its workspace's. */
  async listTokens(caller: Principal, page: PageRequest): Promise<Page<Record<string, unknown>>> {
    const result = await this.options.store.listApiTokens({ workspaceId: caller.workspaceId ?? undefined }, page);
    return { items: result.items.map(tokenView), nextCursor: result.nextCursor };
  }

  /** Revokes a token; 404 when unknown, already revoked, or outside the caller's workspace. */
  async revokeToken(id: string, caller: Principal): Promise<ApiTokenRecord> {
    const record = await this.options.store.getApiToken(id);
    const visible = record !== null && (caller.workspaceId === null || record.workspaceId === caller.workspaceId);
    if (!visible || !(await this.options.store.revokeApiToken(id, this.options.clock()))) {
      throw new HookflowError('HOOKFLOW_ERR_NOT_FOUND', `Token "${id}" not found or already revoked`);
    }
    return record;
  }

  /** Writes one audit entry. */
  recordAudit(entry: Omit<AuditRecord, 'id' | 'at'>): Promise<void> {
    const at = this.options.clock();
    return this.options.store.appendAudit({ id: newId('aud', at), at, ...entry });
  }

  /** Audit entries, newest first; a workspace-scoped caller sees only its workspace's. */
  async listAudit(caller: Principal, filter: { workspaceId?: string | undefined }, page: PageRequest): Promise<Page<Record<string, unknown>>> {
    const workspaceId = caller.workspaceId ?? filter.workspaceId;
    const result = await this.options.store.listAudit({ workspaceId }, page);
    return { items: result.items.map(auditView), nextCursor: result.nextCursor };
  }
}

function tokenView(record: ApiTokenRecord): Record<string, unknown> {
  return {
    id: record.id,
    name: record.name,
    role: record.role,
    workspaceId: record.workspaceId,
    createdAt: new Date(record.createdAt).toISOString(),
    revokedAt: record.revokedAt === null ? null : new Date(record.revokedAt).toISOString(),
  };
}

function auditView(record: AuditRecord): Record<string, unknown> {
  return {
    id: record.id,
    at: new Date(record.at).toISOString(),
    actor: { id: record.actorId, name: record.actorName },
    action: record.action,
    workspaceId: record.workspaceId,
    target: record.target,
    sourceIp: record.sourceIp,
    details: record.details,
  };
}
