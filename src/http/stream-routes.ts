import type { FastifyInstance, FastifyRequest } from 'fastify';
import { RESOURCE_ID } from '../config/workflow-definition.js';
import { HookflowError } from '../errors/catalogue.js';
import type { Store } from '../store/store.js';
import { stringifyExactJson } from '../util/exact-json.js';
import { WorkflowChangeFeed } from '../workflows/change-feed.js';
import type { SessionService } from '../workflows/session-service.js';
import type { WorkflowService } from '../workflows/workflow-service.js';
import { bearerToken } from './access-control.js';

/** Options of the live stream route. */
export interface StreamRoutesOptions {
  store: Store;
  workflows: WorkflowService;
  sessions: SessionService;
  /** How often each stream reads the store, ms (HOOKFLOW_STREAM_POLL_MS). */
  pollMs: number;
  /** Most open streams on this node; more answer 503 (HOOKFLOW_MAX_STREAMS). */
  maxStreams: number;
  clock: () => number;
}

/** Newest rows of each kind a poll reads. */
const WINDOW = 50;
/** A comment line this often keeps proxies from closing an idle stream, ms. */
const KEEPALIVE_MS = 15_000;
/** The caller's session or token is checked again this often; a revoked one ends the stream, ms. */
const RECHECK_MS = 30_000;

/**
 * `GET /api/workspaces/:ws/workflows/:wf/stream`: server-sent events of one workflow: `event`
 * (a stored request, live or test, `filtered` marked), `refused` (a refused call and its reason)
 * and `run` (a run's new status). Authenticated like every management route (bearer token or
 * the console's session cookie); polls the store (WorkflowChangeFeed), so it works the same
 * with many nodes on PostgreSQL.
 */
export async function streamRoutes(app: FastifyInstance, options: StreamRoutesOptions): Promise<void> {
  let open = 0;
  // Hijacked responses are not Fastify's to end: a closing server ends them itself, or close() would wait on them.
  const closers = new Set<() => void>();
  app.addHook('preClose', (done) => {
    for (const close of closers) close();
    done();
  });

  app.get<{ Params: { ws: string; wf: string } }>('/api/workspaces/:ws/workflows/:wf/stream', { config: { access: { role: 'viewer' } } }, async (request, reply) => {
    if (!RESOURCE_ID.test(request.params.ws) || !RESOURCE_ID.test(request.params.wf)) throw new HookflowError('HOOKFLOW_ERR_NOT_FOUND', 'No such id');
    await options.workflows.requireWorkflowRecord(request.params.ws, request.params.wf);
    if (open >= options.maxStreams) throw new HookflowError('HOOKFLOW_ERR_OVERLOADED', 'Too many open streams on this node', { transient: true });
    const feed = new WorkflowChangeFeed({ store: options.store, workspaceId: request.params.ws, workflowId: request.params.wf, window: WINDOW });
    await feed.poll();
    open += 1;
    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    response.write('retry: 2000\n: connected\n\n');

    let closed = false;
    let lastWrite = options.clock();
    let lastCheck = options.clock();
    const close = (): void => {
      if (closed) return;
      closed = true;
      open -= 1;
      closers.delete(close);
      clearInterval(timer);
      response.end();
    };
    closers.add(close);
    request.raw.on('close', close);
    let busy = false;
    const timer = setInterval(() => {
      if (busy || closed) return;
      busy = true;
      tick().catch(close).finally(() => {
        busy = false;
      });
    }, options.pollMs);

    async function tick(): Promise<void> {
      const now = options.clock();
      if (now - lastCheck >= RECHECK_MS) {
        lastCheck = now;
        if (!(await stillAuthorized(request, options.sessions))) return close();
      }
      const items = await feed.poll();
      if (closed) return;
      for (const item of items) response.write(`event: ${item.type}\ndata: ${stringifyExactJson(item.data)}\n\n`);
      if (items.length > 0) lastWrite = now;
      else if (now - lastWrite >= KEEPALIVE_MS) {
        response.write(': keep-alive\n\n');
        lastWrite = now;
      }
    }
  });
}

/** True while the stream's caller may still read: its session is live, or its bearer token unrevoked. */
async function stillAuthorized(request: FastifyRequest, sessions: SessionService): Promise<boolean> {
  const token = bearerToken(request);
  if (token !== undefined) return (await sessions.authenticateToken(token)) !== null;
  const session = request.consoleSession;
  return session !== undefined && (await sessions.resolve(session.id)) !== null;
}
