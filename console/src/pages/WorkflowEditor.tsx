import { lazy, Suspense, useEffect, useMemo, useState, type FormEvent } from 'react';
import { Link, useLocation } from 'wouter';
import { api, ApiError, seg } from '../api';
import { ErrorBox, useLoad } from '../components/common';
import { rememberCreatedUrls } from '../created-urls';
import { useCanEdit } from '../session';
import type { WorkflowItem } from './Workspace';

const StepsEditor = lazy(() => import('../editor/StepsEditor'));

const SCHEMES = ['github', 'stripe', 'slack', 'shopify', 'standard-webhooks', 'hmac-sha256'] as const;
const HANDSHAKES = ['meta', 'zoom', 'x', 'graph', 'dropbox'] as const;
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** The trigger form's fields, as text the inputs hold. */
interface Form {
  id: string;
  name: string;
  enabled: boolean;
  sharedKey: string;
  headerMemory: string;
  bodyMemory: string;
  maxBodyBytes: string;
  ratePerMinute: string;
  idempotencyHeader: string;
  allowedIps: string;
  scheme: string;
  signatureSecret: string;
  filter: string;
  handshake: string;
  responseMode: string;
  methods: string[];
}

const EMPTY: Form = {
  id: '', name: '', enabled: true, sharedKey: '', headerMemory: 'requestHeaders', bodyMemory: 'requestBody', maxBodyBytes: '', ratePerMinute: '',
  idempotencyHeader: '', allowedIps: '', scheme: '', signatureSecret: '', filter: '', handshake: '', responseMode: '', methods: ['POST'],
};

function formOf(wf: WorkflowItem): Form {
  const t = wf.trigger;
  return {
    id: wf.id, name: wf.name, enabled: wf.enabled, sharedKey: '', headerMemory: t['headerMemory'] ?? '', bodyMemory: t['bodyMemory'] ?? '',
    maxBodyBytes: t['maxBodyBytes'] === undefined ? '' : String(t['maxBodyBytes']), ratePerMinute: t['rateLimit']?.perMinute === undefined ? '' : String(t['rateLimit'].perMinute),
    idempotencyHeader: t['idempotencyHeader'] ?? '', allowedIps: (t['allowedIps'] ?? []).join('\n'), scheme: t['signature']?.scheme ?? '', signatureSecret: '',
    filter: t['filter'] ?? '', handshake: t['handshake']?.provider ?? '', responseMode: t['response']?.mode ?? '', methods: t['methods'] ?? ['POST'],
  };
}

/** 32 random bytes, base64url: a shared key nobody guesses. */
function generateKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * The trigger the form describes. For an edit (a JSON merge patch) an emptied field is `null`
 * (removed); secrets are sent only when typed (left empty, the stored one stays).
 */
function triggerOf(form: Form, original: Record<string, any> | null): Record<string, unknown> {
  const clear = original === null ? undefined : null;
  const text = (value: string) => (value.trim() === '' ? clear : value.trim());
  const number = (value: string) => (value.trim() === '' ? clear : Number(value));
  const trigger: Record<string, unknown> = {
    type: 'webhook',
    headerMemory: text(form.headerMemory),
    bodyMemory: text(form.bodyMemory),
    maxBodyBytes: number(form.maxBodyBytes),
    rateLimit: form.ratePerMinute.trim() === '' ? clear : { perMinute: Number(form.ratePerMinute) },
    idempotencyHeader: text(form.idempotencyHeader),
    allowedIps: form.allowedIps.trim() === '' ? clear : form.allowedIps.split(/[\s,]+/).filter((ip) => ip !== ''),
    filter: text(form.filter),
    methods: form.methods.length === 1 && form.methods[0] === 'POST' ? clear : form.methods,
  };
  if (form.sharedKey !== '') trigger['sharedKey'] = form.sharedKey;
  if (form.scheme === '') trigger['signature'] = clear;
  else if (form.signatureSecret !== '' || original?.['signature']?.scheme !== form.scheme) trigger['signature'] = { scheme: form.scheme, secret: form.signatureSecret };
  if (form.handshake === '') trigger['handshake'] = clear;
  else if (original?.['handshake']?.provider !== form.handshake) trigger['handshake'] = { provider: form.handshake };
  if (form.responseMode === '') trigger['response'] = clear;
  else if (original?.['response']?.mode !== form.responseMode) trigger['response'] = { mode: form.responseMode };
  for (const [key, value] of Object.entries(trigger)) if (value === undefined) delete trigger[key];
  return trigger;
}

/** Create (`wf` absent) or edit a workflow: the trigger form and the steps document. */
export function WorkflowEditor(props: { ws: string; wf?: string }) {
  const canEdit = useCanEdit();
  const [, navigate] = useLocation();
  const existing = useLoad<WorkflowItem>(props.wf === undefined ? null : `/api/workspaces/${seg(props.ws)}/workflows/${seg(props.wf)}`);
  const secrets = useLoad<{ items: { name: string }[] }>(canEdit ? `/api/workspaces/${seg(props.ws)}/secrets?limit=200` : null);
  const [form, setForm] = useState<Form>(EMPTY);
  const [stepsText, setStepsText] = useState<string | null>(props.wf === undefined ? '[]\n' : null);
  const [showKey, setShowKey] = useState(false);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (existing.data === undefined) return;
    setForm(formOf(existing.data));
    void import('../editor/yaml-doc').then((m) => setStepsText(m.stepsToYaml(existing.data?.steps ?? [])));
  }, [existing.data]);

  const variables = useMemo(() => {
    const names = new Set<string>(['webhook', 'webhook.method', 'webhook.query', 'webhook.sourceIp', 'webhook.receivedAt']);
    if (form.headerMemory) names.add(form.headerMemory);
    if (form.bodyMemory) names.add(form.bodyMemory);
    for (const match of (stepsText ?? '').matchAll(/^\s*-?\s*output:\s*["']?([A-Za-z_][A-Za-z0-9_]*)/gm)) names.add(match[1] as string);
    for (const secret of secrets.data?.items ?? []) names.add(`secrets.${secret.name}`);
    return [...names];
  }, [form.headerMemory, form.bodyMemory, stepsText, secrets.data]);

  const set = <K extends keyof Form>(key: K, value: Form[K]) => setForm((old) => ({ ...old, [key]: value }));

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { yamlToSteps } = await import('../editor/yaml-doc');
      const steps = yamlToSteps(stepsText ?? '[]');
      const base = `/api/workspaces/${seg(props.ws)}/workflows`;
      if (props.wf === undefined) {
        const created = await api<WorkflowItem>('POST', base, { ...(form.id === '' ? {} : { id: form.id }), name: form.name, enabled: form.enabled, trigger: triggerOf(form, null), steps });
        rememberCreatedUrls(props.ws, created.id, { webhookUrl: created.webhookUrl, testWebhookUrl: created.testWebhookUrl });
        navigate(`/w/${seg(props.ws)}/f/${seg(created.id)}`);
      } else {
        await api('PATCH', `${base}/${seg(props.wf)}`, { name: form.name, enabled: form.enabled, trigger: triggerOf(form, existing.data?.trigger ?? {}), steps });
        navigate(`/w/${seg(props.ws)}/f/${seg(props.wf)}`);
      }
    } catch (failure) {
      setError(failure as Error);
    } finally {
      setBusy(false);
    }
  };

  if (!canEdit) return <p className="empty">Your role can read workflows but not change them.</p>;
  const stepIssues = error instanceof ApiError ? error.details.filter((d) => d.startsWith('steps.')) : [];
  const otherError = error instanceof ApiError ? new ApiError(error.status, error.message, error.details.filter((d) => !d.startsWith('steps.'))) : error;

  return (
    <>
      <p>
        <Link href="/">Workspaces</Link> / <Link href={`/w/${seg(props.ws)}`}>{props.ws}</Link> /
        {props.wf !== undefined && <> <Link href={`/w/${seg(props.ws)}/f/${seg(props.wf)}`}>{existing.data?.name ?? props.wf}</Link> /</>}
      </p>
      <h1>{props.wf === undefined ? 'New workflow' : `Edit ${existing.data?.name ?? ''}`}</h1>
      <ErrorBox error={existing.error} />
      <form onSubmit={save} noValidate>
        <div className="grid2">
          <div><label htmlFor="wf-name">Name</label><input id="wf-name" required value={form.name} onChange={(e) => set('name', e.target.value)} /></div>
          {props.wf === undefined && (
            <div><label htmlFor="wf-id">Id <span className="hint">(optional)</span></label><input id="wf-id" value={form.id} onChange={(e) => set('id', e.target.value)} /></div>
          )}
        </div>
        <div className="checks" style={{ marginTop: '0.6rem' }}>
          <label><input type="checkbox" checked={form.enabled} onChange={(e) => set('enabled', e.target.checked)} /> Enabled</label>
        </div>

        <fieldset>
          <legend>Webhook trigger</legend>
          <label htmlFor="shared-key">Shared Key <span className="hint">(write-only; {props.wf === undefined ? 'callers send it as ?key=, X-Webhook-Key or a bearer token' : 'leave empty to keep the current key'})</span></label>
          <div className="row">
            <input id="shared-key" style={{ flex: '1 1 16rem', width: 'auto' }} type={showKey ? 'text' : 'password'} autoComplete="new-password" value={form.sharedKey} onChange={(e) => set('sharedKey', e.target.value)} minLength={8} />
            <button className="btn" type="button" onClick={() => set('sharedKey', generateKey())}>Generate</button>
            <button className="btn" type="button" aria-pressed={showKey} onClick={() => setShowKey((v) => !v)}>{showKey ? 'Hide' : 'Show'}</button>
          </div>
          <div className="grid2">
            <div><label htmlFor="header-memory">Header Memory <span className="hint">(variable holding the request headers)</span></label><input id="header-memory" value={form.headerMemory} onChange={(e) => set('headerMemory', e.target.value)} /></div>
            <div><label htmlFor="body-memory">Body Memory <span className="hint">(variable holding the request body)</span></label><input id="body-memory" value={form.bodyMemory} onChange={(e) => set('bodyMemory', e.target.value)} /></div>
            <div><label htmlFor="max-body">Max body size <span className="hint">(bytes; empty: server default)</span></label><input id="max-body" inputMode="numeric" value={form.maxBodyBytes} onChange={(e) => set('maxBodyBytes', e.target.value)} /></div>
            <div><label htmlFor="rate">Rate limit <span className="hint">(calls per minute; empty: none)</span></label><input id="rate" inputMode="numeric" value={form.ratePerMinute} onChange={(e) => set('ratePerMinute', e.target.value)} /></div>
            <div><label htmlFor="idem">Idempotency header <span className="hint">(e.g. X-GitHub-Delivery)</span></label><input id="idem" value={form.idempotencyHeader} onChange={(e) => set('idempotencyHeader', e.target.value)} /></div>
            <div>
              <label htmlFor="scheme">Signature scheme</label>
              <select id="scheme" value={form.scheme} onChange={(e) => set('scheme', e.target.value)}>
                <option value="">None (shared key only)</option>
                {SCHEMES.map((s) => <option key={s} value={s}>{s}</option>)}
              </select>
            </div>
            {form.scheme !== '' && (
              <div><label htmlFor="sig-secret">Signing secret <span className="hint">(write-only{props.wf === undefined ? '' : '; empty keeps the current one'})</span></label><input id="sig-secret" type="password" autoComplete="new-password" value={form.signatureSecret} onChange={(e) => set('signatureSecret', e.target.value)} /></div>
            )}
            <div>
              <label htmlFor="handshake">Handshake</label>
              <select id="handshake" value={form.handshake} onChange={(e) => set('handshake', e.target.value)}>
                <option value="">None</option>
                {HANDSHAKES.map((h) => <option key={h} value={h}>{h}</option>)}
              </select>
            </div>
            <div>
              <label htmlFor="response-mode">Response mode</label>
              <select id="response-mode" value={form.responseMode} onChange={(e) => set('responseMode', e.target.value)}>
                <option value="">Accepted at once (default)</option>
                <option value="static">Static answer</option>
                <option value="result">Wait for the run's result</option>
              </select>
            </div>
          </div>
          <label htmlFor="allowed-ips">Allowed IPs <span className="hint">(addresses or CIDRs, one per line; empty: any)</span></label>
          <textarea id="allowed-ips" rows={2} value={form.allowedIps} onChange={(e) => set('allowedIps', e.target.value)} />
          <label htmlFor="filter">Filter <span className="hint">(CEL over headers, body and query; calls it does not match start no run)</span></label>
          <input id="filter" className="mono" value={form.filter} onChange={(e) => set('filter', e.target.value)} placeholder={'body.action == "opened"'} />
          <fieldset>
            <legend>Methods</legend>
            <div className="checks">
              {METHODS.map((m) => (
                <label key={m}>
                  <input type="checkbox" checked={form.methods.includes(m)} onChange={(e) => set('methods', e.target.checked ? [...form.methods, m] : form.methods.filter((x) => x !== m))} /> {m}
                </label>
              ))}
            </div>
          </fieldset>
        </fieldset>

        <h2 id="steps-label">Steps <span className="hint">(YAML list; Ctrl-Space offers the variables)</span></h2>
        {stepsText === null ? (
          <p className="muted">Loading the steps…</p>
        ) : (
          <Suspense fallback={<p className="muted">Loading the editor…</p>}>
            <StepsEditor value={stepsText} resetKey={`${props.wf ?? 'new'}:${existing.data?.version ?? 0}`} onChange={setStepsText} variables={variables} issues={stepIssues} labelledBy="steps-label" />
          </Suspense>
        )}
        <ErrorBox error={otherError instanceof ApiError && otherError.details.length === 0 && stepIssues.length > 0 ? null : otherError} />
        <p className="row">
          <button className="btn primary" type="submit" disabled={busy}>{busy ? 'Saving…' : props.wf === undefined ? 'Create workflow' : 'Save changes'}</button>
          <Link className="btn" href={props.wf === undefined ? `/w/${seg(props.ws)}` : `/w/${seg(props.ws)}/f/${seg(props.wf)}`}>Cancel</Link>
        </p>
      </form>
    </>
  );
}
