import type { FastifyRequest } from 'fastify';
import { HookflowError } from '../errors/catalogue.js';
import type { Metrics } from '../telemetry/metrics.js';
import { INGEST_BYTES_PER_BODY_BYTE, type MemoryBudget, type Reservation } from '../util/memory-budget.js';
import type { LoadShedder } from './load-shedder.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The webhook body's share of the memory budget, released once the answer went out. */
    bodyReservation?: Reservation;
  }
}

/** What the webhook route needs to shed load and to keep its bodies within the memory budget. */
export interface WebhookAdmission {
  shedder: LoadShedder;
  budget: MemoryBudget;
  metrics: Metrics;
}

/** A shed call: counted here by reason; hookflow_webhooks_total counts its 503 with every other answer (webhook-observer.ts). */
function overloaded(admission: WebhookAdmission, reason: string): HookflowError {
  admission.metrics.shed.inc({ reason });
  return new HookflowError('HOOKFLOW_ERR_OVERLOADED', `Webhook shed: ${reason}`, { transient: true });
}

/** First thing on a webhook call: a saturated process answers 503 at once, before any lookup. */
export function shedIfSaturated(admission: WebhookAdmission): void {
  const reason = admission.shedder.check();
  if (reason !== null) throw overloaded(admission, reason);
}

/**
 * Reserves the body's declared size before a byte of it is read (503 when it does not fit);
 * a body without a declared size (chunked, compressed) reserves as it arrives (see `grow`).
 */
export function reserveBody(admission: WebhookAdmission, request: FastifyRequest, headers: { contentLength: string | undefined; encoded: boolean }): void {
  const declared = Number(headers.contentLength);
  const bytes = !headers.encoded && Number.isFinite(declared) && declared > 0 ? declared * INGEST_BYTES_PER_BODY_BYTE : 0;
  const reservation = admission.budget.tryReserve(bytes);
  if (reservation === null) throw overloaded(admission, 'memory_budget');
  request.bodyReservation = reservation;
}

/** Grows the request's reservation to cover `decodedBytes` of body; false when it does not fit. */
export function growBody(admission: WebhookAdmission, request: FastifyRequest, decodedBytes: number): boolean {
  const reservation = request.bodyReservation;
  if (reservation === undefined) return true;
  if (reservation.growTo(decodedBytes * INGEST_BYTES_PER_BODY_BYTE)) return true;
  admission.metrics.shed.inc({ reason: 'memory_budget' });
  return false;
}

/** Gives the body's share back (answered, failed or aborted; idempotent). */
export function releaseBody(request: FastifyRequest): void {
  request.bodyReservation?.release();
}
