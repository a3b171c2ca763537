import { useState } from 'react';
import { Link, useLocation } from 'wouter';
import { api, seg } from '../api';
import { Badge, ErrorBox, useLoad, when } from '../components/common';
import { UrlPanel } from '../components/UrlPanel';
import { createdUrls } from '../created-urls';
import { useCanEdit } from '../session';
import { Health } from './Health';
import { Inspector } from './Inspector';
import { Runs } from './Runs';
import type { WorkflowItem } from './Workspace';

const TABS = [['overview', 'Overview'], ['inspector', 'Requests'], ['runs', 'Runs'], ['health', 'Health']] as const;

/** One workflow: overview and URL panel, request inspector, runs, health. */
export function Workflow(props: { ws: string; wf: string; tab: string }) {
  const path = `/api/workspaces/${seg(props.ws)}/workflows/${seg(props.wf)}`;
  const workflow = useLoad<WorkflowItem>(path);
  const base = `/w/${seg(props.ws)}/f/${seg(props.wf)}`;
  const wf = workflow.data;
  return (
    <>
      <p><Link href="/">Workspaces</Link> / <Link href={`/w/${seg(props.ws)}`}>{props.ws}</Link> /</p>
      <div className="spread">
        <h1>{wf?.name ?? props.wf} {wf && <Badge status={wf.enabled ? 'enabled' : 'disabled'} />}</h1>
      </div>
      <ErrorBox error={workflow.error} />
      <nav className="tabs" aria-label="Workflow">
        {TABS.map(([tab, label]) => (
          <Link key={tab} href={tab === 'overview' ? base : `${base}/${tab}`} aria-current={props.tab === tab ? 'page' : undefined}>{label}</Link>
        ))}
      </nav>
      {wf && props.tab === 'overview' && <Overview ws={props.ws} wf={wf} reload={workflow.reload} />}
      {wf && props.tab === 'inspector' && <Inspector ws={props.ws} wf={wf} />}
      {wf && props.tab === 'runs' && <Runs ws={props.ws} wf={wf} />}
      {wf && props.tab === 'health' && <Health ws={props.ws} wf={wf} />}
    </>
  );
}

function Overview(props: { ws: string; wf: WorkflowItem; reload: () => void }) {
  const canEdit = useCanEdit();
  const [, navigate] = useLocation();
  const { wf } = props;
  const path = `/api/workspaces/${seg(props.ws)}/workflows/${seg(wf.id)}`;
  const [urls, setUrls] = useState(createdUrls(props.ws, wf.id));
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [grace, setGrace] = useState('86400');
  const act = (work: () => Promise<unknown>) => {
    setError(null);
    setNotice(null);
    work().catch(setError);
  };
  const t = wf.trigger;
  const facts: [string, string][] = [
    ['Id', wf.id], ['Version', String(wf.version)], ['Updated', when(wf.updatedAt)],
    ['Shared Key', t['sharedKey']?.set ? 'set (hidden)' : 'none'], ['Header Memory', t['headerMemory'] ?? '—'], ['Body Memory', t['bodyMemory'] ?? '—'],
    ['Signature', t['signature']?.scheme ?? 'none'], ['Methods', (t['methods'] ?? ['POST']).join(', ')], ['Filter', t['filter'] ?? '—'],
    ['Rate limit', t['rateLimit'] ? `${t['rateLimit'].perMinute}/min` : 'none'], ['Max body', t['maxBodyBytes'] ? `${t['maxBodyBytes']} bytes` : 'default'],
    ['Idempotency header', t['idempotencyHeader'] ?? 'defaults'], ['Allowed IPs', (t['allowedIps'] ?? []).join(', ') || 'any'],
    ['Handshake', t['handshake']?.provider ?? 'none'], ['Response', t['response']?.mode ?? 'accepted at once'], ['Steps', wf.steps.map((s) => s['id']).join(' → ') || 'none'],
  ];
  return (
    <>
      {canEdit && (
        <div className="row" aria-label="Workflow actions">
          <Link className="btn" href={`/w/${seg(props.ws)}/f/${seg(wf.id)}/edit`}>Edit</Link>
          <button className="btn" type="button" onClick={() => act(async () => { await api('PATCH', path, { enabled: !wf.enabled }); props.reload(); })}>{wf.enabled ? 'Disable' : 'Enable'}</button>
          <button className="btn" type="button" onClick={() => act(async () => { setUrls(await api('GET', `${path}/webhook-url?reveal=true`)); setNotice('Key revealed (this is recorded in the audit log).'); })}>Reveal key</button>
          <button className="btn" type="button" onClick={() => act(async () => {
            const sharedKey = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
            const answer = await api<{ webhookUrl: string; previousKeysExpireAt: string }>('POST', `${path}/keys/rotate`, { sharedKey, graceSeconds: Number(grace) });
            setUrls({ webhookUrl: answer.webhookUrl, testWebhookUrl: `${wf.testWebhookUrl}?key=${encodeURIComponent(sharedKey)}` });
            setNotice(`New key made; the previous one keeps working until ${when(answer.previousKeysExpireAt)}.`);
          })}>Rotate key</button>
          <label htmlFor="grace" className="hint" style={{ margin: 0 }}>grace (s)</label>
          <input id="grace" inputMode="numeric" value={grace} onChange={(e) => setGrace(e.target.value)} style={{ width: '7rem' }} />
          <button className="btn danger" type="button" onClick={() => window.confirm(`Delete ${wf.name}? Its runs stay as history.`) && act(async () => { await api('DELETE', path); navigate(`/w/${seg(props.ws)}`); })}>Delete</button>
        </div>
      )}
      {notice && <p role="status" className="alert info">{notice}</p>}
      <ErrorBox error={error} />
      <UrlPanel webhookUrl={urls?.webhookUrl ?? wf.webhookUrl} testWebhookUrl={urls?.testWebhookUrl ?? wf.testWebhookUrl} withKey={urls !== undefined} scheme={t['signature']?.scheme} />
      <section className="card" aria-labelledby="trigger-heading">
        <h2 id="trigger-heading">Trigger and steps</h2>
        <dl className="grid2">
          {facts.map(([k, v]) => <div key={k}><dt className="muted">{k}</dt><dd style={{ margin: 0 }} className={k === 'Id' || k === 'Filter' ? 'mono' : undefined}>{v}</dd></div>)}
        </dl>
      </section>
    </>
  );
}
