import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { HookflowError } from '../errors/catalogue.js';
import type { IngressService } from '../ingress/ingress-service.js';
import type { AlertService } from '../alerts/alert-service.js';
import type { BulkJobs } from '../queue/bulk-jobs.js';
import type { RunWaiter } from '../ingress/run-waiter.js';
import type { WebhookObserver } from '../ingress/webhook-observer.js';
import type { Store } from '../store/store.js';
import type { Metrics } from '../telemetry/metrics.js';
import { redactUrl } from '../telemetry/logger.js';
import type { WorkflowService } from '../workflows/workflow-service.js';
import type { TestRunService } from '../workflows/test-runs.js';
import type { WorkspaceSecretService } from '../workflows/workspace-secrets.js';
import { AccessService } from '../workflows/access-service.js';
import { installAccessControl } from './access-control.js';
import { accessRoutes } from './access-routes.js';
import { alertRoutes } from './alert-routes.js';
import { sendError } from './error-handler.js';
import type { WebhookAdmission } from './webhook-admission.js';
import { newObservation } from '../ingress/webhook-observer.js';
import { ingressRoutes, isWebhookUrl, methodNotAllowed } from './ingress-routes.js';
import { managementRoutes } from './management-routes.js';
import { installOpenApi } from './openapi.js';
import { operationsRoutes } from './operations-routes.js';
import { consoleRoutes } from './console-routes.js';
import { sessionRoutes } from './session-routes.js';
import { streamRoutes } from './stream-routes.js';
import { SessionService } from '../workflows/session-service.js';

export interface HttpServerOptions {
  logger: Logger;
  store: Store;
  ingress: IngressService;
  observer: WebhookObserver;
  workflows: WorkflowService;
  workspaceSecrets: WorkspaceSecretService;
  testRuns: TestRunService;
  metrics: Metrics;
  /** The admin token's SHA-256 as the database records it now (null: none), read per management call. */
  adminTokenDigest: () => Promise<Buffer | null>;
  /** SHA-256 of the token `/metrics` requires; null = open. */
  metricsTokenDigest: Buffer | null;
  /** Log accepted webhook calls at info (else at debug). */
  logAcceptedWebhooks: boolean;
  clock: () => number;
  /** Proxies believed about the client's address (see TrustedProxies). */
  trustProxy: false | number | string[];
  /** Retry-After for 503 answers that carry none of their own, seconds. */
  retryAfterSeconds: number;
  /** /readyz's probe write must commit within this, ms (HOOKFLOW_READY_TIMEOUT_MS). */
  readyTimeoutMs: number;
  timeouts: {
    /** Whole request, headers and body, ms (slow senders are cut off). */
    requestMs: number;
    /** Receiving the headers, ms (slowloris). */
    headersMs: number;
    /** Idle keep-alive connections, ms. */
    keepAliveMs: number;
  };
  /** Most simultaneous connections; more are refused by the socket layer. 0 = unlimited. */
  maxConnections: number;
  /** Load shedding and the memory budget of the webhook route. */
  admission: WebhookAdmission;
  onRunQueued: () => void;
  /** Bulk replay and resume jobs, and their default pace (runs per second). */
  bulkJobs: BulkJobs;
  bulkRatePerSecond: number;
  /** Callers of `result`-mode webhooks wait here for their runs. */
  runWaiter: RunWaiter;
  /** Base of the URLs handed out, without a trailing slash. */
  publicUrl: () => string;
  /** Built-in alerts: rules, channels, state and history (src/alerts/). */
  alerts: AlertService;
  /** Console sessions: idle and absolute lifetimes, ms. */
  sessions: { idleMs: number; maxMs: number };
  /** Live streams: store poll interval, ms, and most open at once. */
  streams: { pollMs: number; max: number };
  /** Directory of the built console (`dist/console`); null or missing: no console at `/`. */
  consoleDir: string | null;
}

/**
 * Answers for requests Node's HTTP parser gives up on before Fastify sees them (a sender too
 * slow with its headers or body, headers too large, bytes that are not HTTP), in the contract's
 * shape instead of Fastify's. The connection is closed after.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason, body] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout', '{"error":"Request timeout"}']
    : error.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large', '{"error":"Request headers too large"}']
    : [400, 'Bad Request', '{"error":"Invalid request format"}'];
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}

/** The workspace and workflow ids of a webhook URL (see isWebhookUrl), or null when they do not decode. */
function webhookIdsOf(url: string): { workspaceId: string; workflowId: string } | null {
  const match = /^\/api\/webhook(?:-test)?\/([^/?#]+)\/([^/?#]+)/.exec(url);
  if (match === null) return null;
  try {
    return { workspaceId: decodeURIComponent(match[1] as string), workflowId: decodeURIComponent(match[2] as string) };
  } catch {
    return null;
  }
}

/** The version the OpenAPI document states: the package's. */
const API_VERSION = '0.1.0';

function trustNearestHops(hops: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < hops;
}

function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const notFound = request.url.startsWith('/api/webhook') || error.code === 'FST_ERR_MAX_PARAM_LENGTH';
  const answer = request.url.startsWith('/api/webhook') ? 'Webhook not found' : notFound ? 'Not found' : 'Invalid request';
  void reply.code(notFound ? 404 : 400).send({ error: answer });
}

/** Builds the Fastify instance: ingress, management API and operations endpoints. */
export async function buildHttpServer(options: HttpServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // Fastify's types want its own logger interface; a pino Logger is one at run time.
    loggerInstance: options.logger as unknown as FastifyBaseLogger,
    // Our own one-line access log (onResponse below) replaces Fastify's two lines per request.
    logController: new LogController({ disableRequestLogging: true }),
    // Fastify would give every request a child logger bound to its id. We never log through
    // request.log (the access and error lines name method, URL and IP), and with redaction on,
    // building that child costs a few percent of ingest: requests share the root logger.
    childLoggerFactory: (logger, bindings, childOptions) => (Object.keys(childOptions).length === 0 ? logger : logger.child(bindings, childOptions)),
    // A hop count as proxy-addr's trust function (Fastify takes numbers, its types do not):
    // the socket's peer and the next hops - 1 are our proxies, the address before them the client.
    trustProxy: typeof options.trustProxy === 'number' ? trustNearestHops(options.trustProxy) : options.trustProxy,
    exposeHeadRoutes: false,
    requestTimeout: options.timeouts.requestMs,
    keepAliveTimeout: options.timeouts.keepAliveMs,
    connectionTimeout: 0,
    bodyLimit: 1_048_576,
    // Requests arriving while the server closes get OUR 503 (the contract's body and Retry-After),
    // from the onRequest hook below, instead of Fastify's own.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // URLs Fastify refuses before routing (a bad %-escape, an id past maxParamLength) get our
    // answers too: such an id can name no workflow, so under /api/webhook it is a 404.
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: answerClientError,
    // Node enforces headersTimeout/requestTimeout only on this sweep (default 30 s), so without it a 1 s limit holds a slow sender ~30 s.
    http: { connectionsCheckingInterval: Math.min(1000, options.timeouts.headersMs, options.timeouts.requestMs) },
  });
  app.server.headersTimeout = options.timeouts.headersMs;
  // `Expect: 100-continue`: Node would send `100 Continue` at once, before any check, so a caller
  // about to be refused would upload its body anyway. Webhook routes send it themselves once the
  // call passed every check that needs no body (ingress-routes.ts); other routes at once, as before.
  app.server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
    if (!isWebhookUrl(request.url ?? '')) response.writeContinue();
    app.server.emit('request', request, response);
  });
  if (options.maxConnections > 0) app.server.maxConnections = options.maxConnections;

  app.setErrorHandler((error, request, reply) => sendError(error, request, reply, { log: options.logger, retryAfterSeconds: options.retryAfterSeconds }));
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) return done();
    void reply.header('connection', 'close');
    done(new HookflowError('HOOKFLOW_ERR_STORAGE_UNAVAILABLE', 'Server is shutting down', { transient: true }));
  });
  app.addHook('onRequest', (request, _reply, done) => {
    // HTTP never sends a fragment, but a raw client can, and the router would read what follows
    // `#` as a query: `…/wf#key=…` would authenticate with a key the sender meant to keep local.
    if (!request.raw.url?.includes('#')) return done();
    done(new HookflowError('HOOKFLOW_ERR_BAD_REQUEST_FORMAT', 'request target contains "#" (a fragment)'));
  });
  app.setNotFoundHandler(async (request, reply) => {
    // A method no webhook route takes (OPTIONS, HEAD, PROPFIND…) is a 405 whose `Allow` names the
    // methods this trigger takes (its `methods`, GET for a GET handshake; POST for unknown ones).
    if (request.method !== 'POST' && isWebhookUrl(request.url)) {
      const ids = webhookIdsOf(request.url);
      const route = ids === null ? null : await options.ingress.classify({ ...ids, test: false, method: request.method, headers: {}, query: {}, sourceIp: request.ip, observed: newObservation() });
      return methodNotAllowed(reply, route?.kind === 'not-allowed' ? route.allow : 'POST');
    }
    return reply.code(404).send({ error: request.url.startsWith('/api/webhook') ? 'Webhook not found' : 'Not found' });
  });
  // A callback hook, not an async one: it runs for every request, and most return at once.
  app.addHook('onResponse', (request, reply, done) => {
    // Calls to the webhook routes get their own line (ingress-routes.ts), with workflow and outcome.
    if (request.webhookCall !== undefined) return done();
    const level = 'info';
    if (options.logger.isLevelEnabled(level)) {
      options.logger[level]({ method: request.method, url: redactUrl(request.url), status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10, ip: request.ip }, 'request');
    }
    done();
  });

  const access = new AccessService({ store: options.store, clock: options.clock });
  const sessions = new SessionService({ store: options.store, access, adminTokenDigest: options.adminTokenDigest, clock: options.clock, ...options.sessions });
  // Before any route: every route added from here on gets its declared access and audit.
  installAccessControl(app, { sessions, access, logger: options.logger });
  installOpenApi(app, { version: API_VERSION });

  await app.register(ingressRoutes, {
    ingress: options.ingress,
    admission: options.admission,
    results: { store: options.store, waiter: options.runWaiter, publicUrl: options.publicUrl },
    observer: options.observer,
    logger: options.logger,
    logAccepted: options.logAcceptedWebhooks,
    clock: options.clock,
  });
  await app.register(managementRoutes, {
    store: options.store,
    workflows: options.workflows,
    workspaceSecrets: options.workspaceSecrets,
    testRuns: options.testRuns,
    clock: options.clock,
    onRunQueued: options.onRunQueued,
    bulkJobs: options.bulkJobs,
    bulkRatePerSecond: options.bulkRatePerSecond,
  });
  await app.register(accessRoutes, { access });
  await app.register(alertRoutes, { alerts: options.alerts });
  await app.register(sessionRoutes, { sessions, maxMs: options.sessions.maxMs });
  await app.register(streamRoutes, { store: options.store, workflows: options.workflows, sessions, pollMs: options.streams.pollMs, maxStreams: options.streams.max, clock: options.clock });
  if (options.consoleDir !== null) await app.register(consoleRoutes, { dir: options.consoleDir });
  await app.register(operationsRoutes, {
    store: options.store,
    metrics: options.metrics,
    retryAfterSeconds: options.retryAfterSeconds,
    readyTimeoutMs: options.readyTimeoutMs,
    metricsTokenDigest: options.metricsTokenDigest,
  });
  return app;
}
