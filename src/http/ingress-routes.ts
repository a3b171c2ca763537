import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { HookflowError } from '../errors/catalogue.js';
import { readBody } from '../ingress/body-reader.js';
import type { HandshakeAnswer } from '../ingress/handshakes.js';
import { preferredWaitMs, resultAnswer, staticAnswer, workflowResult, type CustomAnswer } from '../ingress/response-modes.js';
import type { RunWaiter } from '../ingress/run-waiter.js';
import type { Store } from '../store/store.js';
import { allowedMethods, type AdmittedWebhook, type IncomingWebhook, type IngressService } from '../ingress/ingress-service.js';
import { firstHeaderValue } from '../ingress/request-key.js';
import { newObservation, type WebhookObserver } from '../ingress/webhook-observer.js';
import { redactUrl } from '../telemetry/logger.js';
import { WEBHOOK_METHODS } from '../config/workflow-definition.js';
import { growBody, releaseBody, reserveBody, shedIfSaturated, type WebhookAdmission } from './webhook-admission.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the ingress `onRequest` hook once the call passed the checks that need no body. */
    admittedWebhook?: AdmittedWebhook;
    /** Set when the admitted call is a provider's GET handshake. */
    isHandshake?: boolean;
    /** Set for every call to the webhook routes: what its log line and metrics say. */
    webhookCall?: IncomingWebhook;
  }
}

interface WebhookParams {
  workspaceId: string;
  workflowId: string;
  /** The path suffix, on the `/*` routes. */
  '*'?: string;
}

/** `/api/webhook/:ws/:wf` or `/api/webhook-test/:ws/:wf`, with or without a path suffix or a query. */
const WEBHOOK_URL = /^\/api\/webhook(?:-test)?\/[^/?#]+\/[^/?#]+(?:[/?]|$)/;

/** True for a URL of the webhook routes: a method they have no route for is a 405 (see server.ts). */
export function isWebhookUrl(url: string): boolean {
  return WEBHOOK_URL.test(url);
}

/**
 * `POST /api/webhook/:ws/:wf` and the test endpoint. Registered in a scope of its own: its body
 * parser reads raw bytes with the trigger's own limit, which runs only AFTER the trigger was
 * found and the key checked (`onRequest`), so refused calls never have their bodies read.
 */
/** What `result`-mode triggers need to answer with a run's result. */
export interface ResultAnswers {
  store: Store;
  waiter: RunWaiter;
  /** Base of the URLs handed out (status URLs), without a trailing slash. */
  publicUrl: () => string;
}

export interface IngressRoutesOptions {
  ingress: IngressService;
  admission: WebhookAdmission;
  results: ResultAnswers;
  /** Counts every answered call under its workflow (metrics, stored stats). */
  observer: WebhookObserver;
  logger: Logger;
  /** Log accepted calls at info (else at debug). */
  logAccepted: boolean;
  clock: () => number;
}

export async function ingressRoutes(app: FastifyInstance, options: IngressRoutesOptions): Promise<void> {
  const { ingress, admission, results, observer, logger } = options;
  const statusUrl = (workspaceId: string, workflowId: string) => (runId: string) =>
    `${results.publicUrl()}/api/webhook-status/${encodeURIComponent(workspaceId)}/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}`;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (request, payload, done) => {
    const admitted = request.admittedWebhook;
    if (admitted === undefined) return done(new HookflowError('HOOKFLOW_ERR_INTERNAL', 'Body read before admission'), undefined);
    readBody(payload, {
      limit: admitted.bodyLimit,
      contentEncoding: firstHeaderValue(request.headers['content-encoding']),
      reserve: (decodedBytes) => growBody(admission, request, decodedBytes),
    }).then(
      (body) => done(null, body),
      (error: unknown) => {
        if (error instanceof HookflowError) ingress.recordRefusal(admitted.incoming, error, null);
        done(error as Error, undefined);
      },
    );
  });

  await statusRoute(app, ingress, results);
  for (const [prefix, test] of [['/api/webhook', false], ['/api/webhook-test', true]] as const) {
    // With an optional path suffix (`/api/webhook/ws/wf/orders/42`), kept as `webhook.path`.
    for (const url of [`${prefix}/:workspaceId/:workflowId`, `${prefix}/:workspaceId/:workflowId/*`]) {
      app.route<{ Params: WebhookParams }>({
        method: [...WEBHOOK_METHODS],
        url,
        onRequest: async (request, reply) => {
          shedIfSaturated(admission);
          const incoming = incomingOf(request, test);
          request.webhookCall = incoming;
          const route = await ingress.classify(incoming);
          if (route.kind === 'not-allowed') return methodNotAllowed(reply, route.allow);
          if (route.kind === 'handshake') {
            request.admittedWebhook = await ingress.admitHandshake(incoming, route.provider);
            request.isHandshake = true;
            return undefined;
          }
          // An empty Content-Type means none: treat it like a missing one (JSON if it parses, else text).
          if (request.headers['content-type'] === '') delete request.headers['content-type'];
          // The body's share of the budget is reserved inside admit, after the key and before the
          // trigger's quota is taken: a 503 for want of memory uses up none of the sender's quota.
          // A declared size over the limit reserves nothing: admit answers it 413.
          const encoding = firstHeaderValue(request.headers['content-encoding']);
          const contentLength = firstHeaderValue(request.headers['content-length']);
          request.admittedWebhook = await ingress.admit(incoming, 'trigger', (bodyLimit) => {
            const declared = Number(contentLength);
            reserveBody(admission, request, { contentLength: Number.isFinite(declared) && declared > bodyLimit ? undefined : contentLength, encoded: encoding !== undefined && encoding !== 'identity' });
          });
          // Admitted: only now may a caller that asked for it send its body (see server.ts).
          if (/^100-continue$/i.test(firstHeaderValue(request.headers.expect) ?? '')) reply.raw.writeContinue();
          return undefined;
        },
        // The body's share of the budget is held until the answer went out (it is parsed and
        // handed to the writer until then), or until the client gave up.
        onRequestAbort: (request, done) => {
          releaseBody(request);
          done();
        },
        handler: async (request, reply) => {
          const admitted = request.admittedWebhook as AdmittedWebhook;
          if (request.isHandshake === true) {
            const answer = await ingress.answerGet(admitted);
            return answer === null ? methodNotAllowed(reply, allowedMethods(admitted.trigger)) : sendHandshake(reply, answer);
          }
          const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
          const outcome = await ingress.accept(admitted, raw);
          if ('handshake' in outcome) return sendHandshake(reply, outcome.handshake);
          // Response modes apply once the event (and its run) are committed; the test endpoint, and a
          // call the trigger's filter did not match (no run), keep their answers.
          const response = admitted.trigger.trigger.response;
          if (response === undefined || test || 'filtered' in outcome) return outcome;
          const custom = response.mode === 'static'
            ? staticAnswer(response)
            : await resultAnswer({
              response, answer: outcome, preferMs: preferredWaitMs(request.headers.prefer), workspaceId: admitted.trigger.workspaceId,
              statusUrl: statusUrl(admitted.trigger.workspaceId, admitted.trigger.workflowId), waiter: results.waiter, store: results.store,
            });
          return custom === null ? outcome : sendCustom(reply, custom);
        },
        // One line and one count per call, whatever answered it (the route, the error mapper).
        // A callback hook: it runs for every webhook, and the rest of the work is synchronous.
        onResponse: (request, reply, done) => {
          releaseBody(request);
          const call = request.webhookCall;
          if (call !== undefined) {
            const summary = observer.finished(call.observed, reply.statusCode, reply.elapsedTime, options.clock());
            // Refused and failed calls at info; taken ones at info only when asked for: a line per
            // accepted call costs a large share of ingest throughput. The URL as the access log shows
            // it: query parameter names only, never values (one may be a credential).
            const level = reply.statusCode < 400 && !options.logAccepted ? 'debug' : 'info';
            if (logger.isLevelEnabled(level)) logger[level]({ ...summary, method: request.method, url: redactUrl(request.url), ip: request.ip }, 'webhook');
          }
          done();
        },
      });
    }
  }
}

/**
 * `GET /api/webhook-status/:ws/:wf/:runId`: where a `result`-mode caller answered 202 learns how
 * its run ended — with the webhook's own shared key, not a management token.
 */
async function statusRoute(app: FastifyInstance, ingress: IngressService, results: ResultAnswers): Promise<void> {
  app.get<{ Params: WebhookParams & { runId: string } }>('/api/webhook-status/:workspaceId/:workflowId/:runId', async (request) => {
    const trigger = await ingress.authorizeStatus(incomingOf(request, false));
    const run = await results.store.getRun(trigger.workspaceId, request.params.runId);
    if (run === null || run.workflowId !== trigger.workflowId) throw new HookflowError('HOOKFLOW_ERR_WEBHOOK_NOT_FOUND', 'No such run of this webhook');
    const finished = run.status === 'succeeded' || run.status === 'failed';
    return {
      run_id: run.id,
      status: run.status,
      finished_at: run.finishedAt === null ? null : new Date(run.finishedAt).toISOString(),
      ...(run.status === 'succeeded' ? { result: await workflowResult(results.store, run).then(({ status, body }) => ({ status, body })) } : {}),
      ...(finished ? {} : { retry_after_seconds: 1 }),
    };
  });
}

function incomingOf(request: FastifyRequest<{ Params: Omit<WebhookParams, 'runId'> }>, test: boolean): IncomingWebhook {
  const suffix = request.params['*'];
  return {
    workspaceId: request.params.workspaceId,
    workflowId: request.params.workflowId,
    test,
    method: request.method,
    headers: request.headers,
    query: request.query as Record<string, unknown>,
    sourceIp: request.ip,
    observed: newObservation(),
    ...(suffix === undefined || suffix === '' ? {} : { path: `/${suffix}` }),
  };
}

/** The contract's 405: the methods this URL takes in `Allow`. */
export function methodNotAllowed(reply: FastifyReply, allow: string): FastifyReply {
  return reply.code(405).header('allow', allow).send({ error: 'Method not allowed' });
}

function sendCustom(reply: FastifyReply, answer: CustomAnswer): FastifyReply {
  return reply.code(answer.status).headers(answer.headers).send(answer.payload);
}

function sendHandshake(reply: FastifyReply, answer: HandshakeAnswer): FastifyReply {
  return reply.code(answer.status).headers(answer.headers).type(answer.contentType).send(answer.body);
}
