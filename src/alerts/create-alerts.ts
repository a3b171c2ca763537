import type { Logger } from 'pino';
import type { ServerConfig } from '../config/server-config.js';
import { createEgressPolicy, type OwnEndpoint } from '../engine/net/address-policy.js';
import { createGuardedHttpClient } from '../engine/net/guarded-fetch.js';
import type { SecretCipher } from '../secrets/cipher.js';
import type { Store } from '../store/store.js';
import { AlertEvaluator } from './alert-evaluator.js';
import { AlertNotifier } from './alert-notifier.js';
import { AlertService } from './alert-service.js';

/** The alert parts of one node, built from the configuration. */
export interface Alerts {
  service: AlertService;
  evaluator: AlertEvaluator;
  /** Stops the evaluator (giving its lease up) and closes the outbound client. */
  close(): Promise<void>;
}

/**
 * Builds the alert service, notifier and evaluator. Notifications go out through the same
 * guarded client as HTTP steps: HOOKFLOW_EGRESS_ALLOWLIST decides which private ranges a
 * channel may reach, and hookflow's own listen address is refused.
 */
export function createAlerts(options: { config: ServerConfig; store: Store; cipher: SecretCipher; clock: () => number; logger: Logger; ownEndpoints: () => readonly OwnEndpoint[] }): Alerts {
  const { config, store, cipher, clock, logger } = options;
  const egress = createEgressPolicy({ allowlist: [...config.egressAllowlist], ownEndpoints: options.ownEndpoints });
  const client = createGuardedHttpClient({ policy: egress, defaultTimeoutMs: config.alerts.deliveryTimeoutMs, maxResponseBytes: 64 * 1024, maxRedirects: 0 });
  const notifier = new AlertNotifier({
    store, cipher, client, clock, logger,
    attempts: config.alerts.deliveryAttempts,
    timeoutMs: config.alerts.deliveryTimeoutMs,
    retry: { baseMs: config.alerts.retryBaseMs, maxMs: config.alerts.retryMaxMs },
  });
  const evaluator = new AlertEvaluator({ store, notifier, clock, logger, intervalMs: config.alerts.intervalMs });
  return {
    service: new AlertService({
      store, cipher, notifier, egress, clock,
      limits: { rules: config.alerts.maxRulesPerWorkspace, channels: config.alerts.maxChannelsPerWorkspace },
    }),
    evaluator,
    async close() {
      await evaluator.stop();
      await client.close();
    },
  };
}
