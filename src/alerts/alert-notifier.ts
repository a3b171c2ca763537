import type { Logger } from 'pino';
import type { GuardedHttpClient } from '../engine/net/guarded-fetch.js';
import { isHookflowError, toError } from '../errors/catalogue.js';
import { retryDelayMs } from '../queue/backoff.js';
import type { SecretCipher } from '../secrets/cipher.js';
import type { AlertChannelRecord, AlertDeliveryRecord } from '../store/alert-store.js';
import type { Store } from '../store/store.js';
import { channelSecretAssociatedData, signatureHeaders } from './notification.js';

export interface AlertNotifierOptions {
  store: Store;
  cipher: SecretCipher;
  /** The outbound client of HTTP steps: the SSRF guard checks every resolved address. */
  client: GuardedHttpClient;
  clock: () => number;
  /**
   * Real time for `webhook-timestamp`: receivers check it against their own clock (±5 min),
   * so it is the moment of sending even when tests inject `clock`. Default Date.now.
   */
  wallClock?: () => number;
  logger: Logger;
  /** Attempts per notification before it is recorded as failed. */
  attempts: number;
  /** Time one attempt may take, ms. */
  timeoutMs: number;
  /** Backoff between attempts, ms (base doubles per failure, capped at max, with jitter). */
  retry: { baseMs: number; maxMs: number };
}

/** How one attempt went. `error` never holds the secret or the answer's body. */
export interface SendResult {
  delivered: boolean;
  status: number | null;
  error: string | null;
  /** The failure cannot pass on a retry (a refused address). */
  permanent: boolean;
}

/** Deliveries handled per pass; the rest wait for the next one. */
const DELIVERIES_PER_PASS = 100;
/** Answer bytes kept (and ignored) per attempt. */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * Sends notifications: each due delivery is claimed (so two nodes never send the same attempt),
 * posted signed through the guarded client, and its outcome recorded — delivered, retried later
 * with backoff, or failed for good after the last attempt. Failures are visible in the history.
 */
export class AlertNotifier {
  constructor(private readonly options: AlertNotifierOptions) {}

  /** Posts `body` to the channel once, signed with its secret, with `id` as the `webhook-id`. */
  async send(channel: AlertChannelRecord, id: string, body: string): Promise<SendResult> {
    const { cipher, client, timeoutMs } = this.options;
    const wallClock = this.options.wallClock ?? Date.now;
    try {
      const secret = cipher.decrypt(channel.secretCiphertext, channelSecretAssociatedData(channel));
      const headers = { 'content-type': 'application/json', 'user-agent': 'hookflow-alerts', ...signatureHeaders({ secret, id, timestampSeconds: Math.floor(wallClock() / 1000), body }) };
      const answer = await client.request({ method: 'POST', url: channel.url, headers, body, timeoutMs, maxResponseBytes: MAX_ANSWER_BYTES, redirects: 'none' });
      if (answer.status >= 200 && answer.status < 300) return { delivered: true, status: answer.status, error: null, permanent: false };
      return { delivered: false, status: answer.status, error: `answered HTTP ${answer.status}`, permanent: false };
    } catch (thrown) {
      const error = toError(thrown);
      return { delivered: false, status: null, error: error.message, permanent: isHookflowError(error) && !error.transient };
    }
  }

  /** Sends every due delivery once (claimed first), recording each outcome. */
  async deliverDue(): Promise<void> {
    const { store, clock } = this.options;
    const due = await store.alerts.dueAlertDeliveries(clock(), DELIVERIES_PER_PASS);
    for (const delivery of due) await this.deliver(delivery);
  }

  private async deliver(delivery: AlertDeliveryRecord): Promise<void> {
    const { store, clock, logger } = this.options;
    const now = clock();
    // The claim outlasts one attempt: were this node to stop mid-send, another retries after it.
    if (!(await store.alerts.claimAlertDelivery(delivery.id, now, now + 2 * this.options.timeoutMs))) return;
    const channel = await store.alerts.getAlertChannel(delivery.workspaceId, delivery.channelId);
    const attempts = delivery.attempts + 1;
    const result: SendResult = channel === null
      ? { delivered: false, status: null, error: 'channel deleted', permanent: true }
      : await this.send(channel, delivery.id, delivery.payload);
    const finished = clock();
    if (result.delivered) {
      await store.alerts.recordAlertDelivery({ id: delivery.id, status: 'delivered', attempts, nextAttemptAt: null, lastStatus: result.status, lastError: null, deliveredAt: finished });
      return;
    }
    const last = result.permanent || attempts >= this.options.attempts;
    logger.warn({ delivery: delivery.id, channel: delivery.channelId, workspace: delivery.workspaceId, attempt: attempts, error: result.error, final: last }, 'alert notification not delivered');
    await store.alerts.recordAlertDelivery({
      id: delivery.id,
      status: last ? 'failed' : 'pending',
      attempts,
      nextAttemptAt: last ? null : finished + retryDelayMs(attempts, this.options.retry),
      lastStatus: result.status,
      lastError: result.error,
      deliveredAt: null,
    });
  }
}
