import type { CliConfig } from '../config/cli-config.js';
import type { SignatureSchemeName } from '../ingress/signatures/types.js';
import { CliError, EXIT, type ApiAnswer, type ApiClient } from './api-client.js';
import { signDelivery } from './sign-delivery.js';

export interface SendOptions {
  workspace: string;
  workflow: string;
  body: Buffer;
  /** `name:value` pairs from --header. */
  headers: string[];
  test: boolean;
  key: string | undefined;
  secret: string | undefined;
}

interface TriggerView {
  signature?: { scheme: SignatureSchemeName; header?: string; encoding?: 'hex' | 'base64'; prefix?: string; requireSharedKey?: boolean };
}

/**
 * Sends one webhook the way its external system would: reads the trigger (viewer role) to learn
 * its scheme, adds the shared key (from --key / HOOKFLOW_WEBHOOK_KEY, else revealed through the
 * API) unless a signature replaces it, and signs the body when the trigger has a signature
 * (the secret from --secret / HOOKFLOW_SIGNING_SECRET: the server never shows it).
 */
export async function sendWebhook(client: ApiClient, config: CliConfig, options: SendOptions): Promise<ApiAnswer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  for (const pair of options.headers) {
    const colon = pair.indexOf(':');
    if (colon <= 0) throw new CliError(`--header expects name:value, got "${pair}"`, EXIT.usage);
    headers[pair.slice(0, colon).trim().toLowerCase()] = pair.slice(colon + 1).trim();
  }
  const base = `/api/workspaces/${encodeURIComponent(options.workspace)}/workflows/${encodeURIComponent(options.workflow)}`;
  let key = options.key ?? config.webhookKey;
  // With a key and no token there is nothing to look up: send with the key alone.
  const trigger = key !== undefined && config.token === undefined ? {} : (((await client.expect('GET', base)) as { trigger: TriggerView }).trigger);
  const signature = trigger.signature;
  if (signature === undefined || signature.requireSharedKey === true) {
    if (key === undefined) {
      const answer = await client.call('GET', `${base}/webhook-url?reveal=true`);
      if (answer.status === 403) throw new CliError('the shared key is needed: pass --key or HOOKFLOW_WEBHOOK_KEY (revealing it needs the editor role)', EXIT.usage);
      if (answer.status >= 400) throw new CliError(`cannot reveal the key: ${answer.status}`, EXIT.serverError);
      key = new URL((answer.body as { webhookUrl: string }).webhookUrl).searchParams.get('key') ?? undefined;
    }
    // A header, not ?key=, keeps the key out of access logs.
    if (key !== undefined) headers['x-webhook-key'] = key;
  }
  if (signature !== undefined) {
    const secret = options.secret ?? config.signingSecret;
    if (secret === undefined) throw new CliError(`the trigger signs with ${signature.scheme}: pass --secret or HOOKFLOW_SIGNING_SECRET (the server never shows it)`, EXIT.usage);
    const signOptions = { ...(signature.header === undefined ? {} : { header: signature.header }), ...(signature.encoding === undefined ? {} : { encoding: signature.encoding }), ...(signature.prefix === undefined ? {} : { prefix: signature.prefix }) };
    try {
      Object.assign(headers, signDelivery({ scheme: signature.scheme, secret, rawBody: options.body, nowSeconds: Math.floor(Date.now() / 1000), options: signOptions }));
    } catch (error) {
      throw new CliError((error as Error).message, EXIT.usage, { cause: error });
    }
  }
  const endpoint = `${config.url}/api/webhook${options.test ? '-test' : ''}/${encodeURIComponent(options.workspace)}/${encodeURIComponent(options.workflow)}`;
  return client.send(endpoint, { method: 'POST', headers, body: options.body });
}
