import { useState } from 'react';
import { CopyButton } from './common';

/** What to click in each provider's settings, and what hookflow checks, for the chosen signature scheme. */
const PROVIDER_SETUP: Record<string, { title: string; steps: string[] }> = {
  github: {
    title: 'GitHub',
    steps: [
      'Repository or organisation → Settings → Webhooks → Add webhook.',
      'Payload URL: the production URL above. Content type: application/json.',
      'Secret: the same value as this trigger\'s signing secret. hookflow checks X-Hub-Signature-256.',
      'Pick the events; GitHub sends a ping first. X-GitHub-Delivery de-duplicates redeliveries.',
    ],
  },
  stripe: {
    title: 'Stripe',
    steps: [
      'Dashboard → Developers → Webhooks → Add endpoint, with the production URL above.',
      'Select the events, save, then reveal the endpoint\'s signing secret (whsec_…) and store it as this trigger\'s signing secret.',
      'hookflow checks Stripe-Signature (timestamp within 5 minutes by default).',
    ],
  },
  shopify: {
    title: 'Shopify',
    steps: [
      'Admin → Settings → Notifications → Webhooks → Create webhook (or your app\'s webhook subscription), format JSON, URL above.',
      'Signing secret: the app\'s client secret (or the key shown under the store\'s webhooks).',
      'hookflow checks X-Shopify-Hmac-Sha256; X-Shopify-Webhook-Id de-duplicates retries.',
    ],
  },
  slack: {
    title: 'Slack',
    steps: [
      'api.slack.com → your app → Event Subscriptions (or Interactivity) → Request URL: the production URL above.',
      'Signing secret: Basic Information → App Credentials → Signing Secret.',
      'hookflow checks X-Slack-Signature with X-Slack-Request-Timestamp and answers the url_verification challenge.',
    ],
  },
  'standard-webhooks': {
    title: 'Standard Webhooks (Svix and others)',
    steps: [
      'In the sender\'s portal, add an endpoint with the production URL above.',
      'Signing secret: the endpoint\'s secret (whsec_… base64).',
      'hookflow checks webhook-id, webhook-timestamp and webhook-signature (svix-* too); the id de-duplicates retries.',
    ],
  },
  'hmac-sha256': {
    title: 'Generic HMAC-SHA256',
    steps: ['The sender signs the raw body with HMAC-SHA256 and the signing secret and sends it in the configured header (hex or base64).'],
  },
};

/** The example body of the seed. */
const EXAMPLE = '{"event":"order_created","order_id":"12345","total":150.00}';

function snippets(url: string): { label: string; code: string }[] {
  return [
    { label: 'cURL', code: `curl -X POST \\\n  "${url}" \\\n  -H "Content-Type: application/json" \\\n  -d '${EXAMPLE}'` },
    { label: 'JavaScript fetch', code: `await fetch(\n  "${url}",\n  {\n    method: "POST",\n    headers: { "Content-Type": "application/json" },\n    body: JSON.stringify(${EXAMPLE}),\n  },\n);` },
    { label: 'Python requests', code: `import requests\n\nrequests.post(\n    "${url}",\n    json=${EXAMPLE.replace('150.00', '150.0')},\n    timeout=10,\n)` },
  ];
}

/**
 * The production and test URLs with copy buttons, ready-to-paste snippets and the provider's
 * setup. `urls` hold the key only when just created or revealed; otherwise KEY stands for it.
 */
export function UrlPanel(props: { webhookUrl: string; testWebhookUrl: string; withKey: boolean; scheme: string | undefined }) {
  const [snippet, setSnippet] = useState(0);
  const keyed = (url: string) => (props.withKey || props.scheme ? url : `${url}?key=YOUR_SHARED_KEY`);
  const all = snippets(keyed(props.webhookUrl));
  const provider = props.scheme === undefined ? undefined : PROVIDER_SETUP[props.scheme];
  return (
    <section className="card" aria-labelledby="url-heading">
      <h2 id="url-heading">Webhook URL</h2>
      {!props.withKey && !props.scheme && <p className="muted">The shared key is not shown: reveal it (editors, audited) or use the key you saved.</p>}
      <div className="grid2">
        <div>
          <label htmlFor="prod-url">Production URL</label>
          <div className="row"><input id="prod-url" readOnly className="mono" value={keyed(props.webhookUrl)} style={{ flex: 1, width: 'auto' }} /><CopyButton text={keyed(props.webhookUrl)} label="Copy production URL" /></div>
        </div>
        <div>
          <label htmlFor="test-url">Test URL <span className="hint">(stores the request, starts no run)</span></label>
          <div className="row"><input id="test-url" readOnly className="mono" value={keyed(props.testWebhookUrl)} style={{ flex: 1, width: 'auto' }} /><CopyButton text={keyed(props.testWebhookUrl)} label="Copy test URL" /></div>
        </div>
      </div>
      <h3>Examples</h3>
      <div className="tabs" role="tablist" aria-label="Example language">
        {all.map((s, i) => (
          <a key={s.label} href="#examples" role="tab" aria-selected={i === snippet} aria-current={i === snippet ? 'page' : undefined} onClick={(e) => { e.preventDefault(); setSnippet(i); }}>{s.label}</a>
        ))}
      </div>
      <div className="spread"><span className="muted">{all[snippet]!.label}</span><CopyButton text={all[snippet]!.code} label={`Copy ${all[snippet]!.label} example`} /></div>
      <pre id="examples" tabIndex={0}>{all[snippet]!.code}</pre>
      {provider !== undefined && (
        <>
          <h3>Set up {provider.title}</h3>
          <ol>{provider.steps.map((step) => <li key={step}>{step}</li>)}</ol>
        </>
      )}
    </section>
  );
}
