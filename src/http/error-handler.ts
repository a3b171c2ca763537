import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ERRORS, HookflowError, type ErrorCode } from '../errors/catalogue.js';

/** Fastify's own errors that mean "the client sent something we can't take", by code. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'HOOKFLOW_ERR_PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'HOOKFLOW_ERR_BAD_REQUEST_FORMAT',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'HOOKFLOW_ERR_BAD_REQUEST_FORMAT',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'HOOKFLOW_ERR_BAD_REQUEST_FORMAT',
  FST_ERR_CTP_INVALID_JSON_BODY: 'HOOKFLOW_ERR_BAD_REQUEST_FORMAT',
  FST_ERR_VALIDATION: 'HOOKFLOW_ERR_VALIDATION',
};

/**
 * The one place errors become HTTP answers. Callers only ever see the catalogue's public
 * message (plus field-level `details` for management validation errors) — never a stack, a
 * SQL message or anything from the request.
 */
export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply, options: { log: Logger; retryAfterSeconds: number }): FastifyReply {
  const hookflowError = asHookflowError(error);
  if (hookflowError.status === 503) {
    // Expected refusals (shutting down, the writer behind, storage briefly away): the sender is
    // told to retry; one line without a stack. /readyz and the metrics show a lasting cause. A
    // webhook shed under load gets no line at all (hookflow_webhooks_shed_total counts them): a
    // line per shed call would grow with the very load it sheds.
    if (hookflowError.code !== 'HOOKFLOW_ERR_OVERLOADED') {
      options.log.warn({ code: hookflowError.code, reason: hookflowError.message, method: request.method, route: request.routeOptions.url }, 'request refused; sender asked to retry');
    }
  } else if (hookflowError.status >= 500) {
    options.log.error({ err: error, method: request.method, route: request.routeOptions.url }, 'request failed');
  }
  // 429 and 503 always say when to come back.
  const retryAfter = hookflowError.retryAfterSeconds ?? (hookflowError.status === 503 ? options.retryAfterSeconds : undefined);
  if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
  // API.md: every unexpected failure is `Internal server error`; the code stays in the log.
  const publicMessage = hookflowError.status === 500 ? ERRORS.HOOKFLOW_ERR_INTERNAL.publicMessage : hookflowError.publicMessage;
  const body: Record<string, unknown> = { error: publicMessage };
  if (hookflowError.code === 'HOOKFLOW_ERR_VALIDATION' || hookflowError.code === 'HOOKFLOW_ERR_CONFLICT' || hookflowError.code === 'HOOKFLOW_ERR_NOT_FOUND') {
    if (hookflowError.details !== undefined) body['details'] = hookflowError.details;
    else if (hookflowError.message !== hookflowError.publicMessage) body['details'] = [hookflowError.message];
  }
  return reply.code(hookflowError.status).type('application/json').send(body);
}

function asHookflowError(error: unknown): HookflowError {
  if (error instanceof HookflowError) return error;
  const fastifyCode = (error as FastifyError | undefined)?.code;
  const mapped = fastifyCode === undefined ? undefined : FASTIFY_CODES[fastifyCode];
  if (mapped !== undefined) return new HookflowError(mapped, undefined, { cause: error });
  return new HookflowError('HOOKFLOW_ERR_INTERNAL', undefined, { cause: error });
}
