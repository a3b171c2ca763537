import { useCallback, useEffect, useState } from 'react';
import { Link } from 'wouter';
import { api, seg } from '../api';
import { Badge, ErrorBox, when } from '../components/common';
import { BodyView, JsonView } from '../components/JsonView';
import { useWorkflowStream, type StreamMessage } from '../components/useStream';
import { useCanEdit } from '../session';
import type { WorkflowItem } from './Workspace';

interface EventItem { id: string; receivedAt: string; test: boolean; filtered: boolean; headers: Record<string, string>; body: unknown; webhook: Record<string, any> }
interface RefusedItem { id: string; receivedAt: string; status: number; reason: string; sourceIp: string; bodyBytes: number | null; userAgent: string | null }
interface RunItem { id: string; eventId: string; status: string }
type Entry = { kind: 'event'; at: string; item: EventItem } | { kind: 'refused'; at: string; item: RefusedItem };

/** Recent requests to the live and test endpoints, and refused calls, updating live. */
export function Inspector(props: { ws: string; wf: WorkflowItem }) {
  const canEdit = useCanEdit();
  const base = `/api/workspaces/${seg(props.ws)}/workflows/${seg(props.wf.id)}`;
  const [entries, setEntries] = useState<Entry[]>([]);
  const [runs, setRuns] = useState<Record<string, RunItem>>({});
  const [error, setError] = useState<unknown>(null);
  const [sent, setSent] = useState<string | null>(null);

  const add = useCallback((entry: Entry) => setEntries((old) => (old.some((e) => e.item.id === entry.item.id) ? old : [entry, ...old].sort((a, b) => b.at.localeCompare(a.at)).slice(0, 200))), []);
  const addRun = useCallback((run: RunItem) => setRuns((old) => ({ ...old, [run.eventId]: run })), []);

  useEffect(() => {
    Promise.all([
      api<{ items: EventItem[] }>('GET', `${base}/events?limit=50`),
      api<{ items: RefusedItem[] }>('GET', `${base}/events?rejected=true&limit=50`),
      api<{ items: RunItem[] }>('GET', `${base}/runs?limit=100`),
    ]).then(([events, refused, runList]) => {
      for (const item of events.items) add({ kind: 'event', at: item.receivedAt, item });
      for (const item of refused.items) add({ kind: 'refused', at: item.receivedAt, item });
      for (const run of [...runList.items].reverse()) addRun(run);
    }, setError);
  }, [base, add, addRun]);

  const live = useWorkflowStream(props.ws, props.wf.id, (message: StreamMessage) => {
    if (message.type === 'event') add({ kind: 'event', at: message.data.receivedAt, item: message.data });
    if (message.type === 'refused') add({ kind: 'refused', at: message.data.receivedAt, item: message.data });
    if (message.type === 'run') addRun(message.data);
  });

  const sendTest = async () => {
    setError(null);
    try {
      const urls = await api<{ testWebhookUrl: string }>('GET', `${base}/webhook-url?reveal=true`);
      const response = await fetch(urls.testWebhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ event: 'console_test', sentAt: new Date().toISOString() }), credentials: 'omit' });
      setSent(`Test request sent: ${response.status}`);
    } catch (failure) {
      setError(failure);
    }
  };

  return (
    <>
      <div className="spread">
        <p className="muted" role="status">{live ? 'Live: new requests appear as they arrive.' : 'Connecting to live updates…'}</p>
        {canEdit && <button className="btn" type="button" onClick={sendTest}>Send test request</button>}
      </div>
      {sent && <p className="muted">{sent}</p>}
      <ErrorBox error={error} />
      {entries.length === 0 && <p className="empty">No request yet. Send one to the URL on the overview, or use “Send test request”.</p>}
      <ul aria-label="Requests" style={{ listStyle: 'none', padding: 0 }} data-testid="requests">
        {entries.map((entry) => (entry.kind === 'event'
          ? <EventRow key={entry.item.id} ws={props.ws} base={base} event={entry.item} run={runs[entry.item.id]} canEdit={canEdit} answered={answeredStatus(props.wf)} />
          : <RefusedRow key={entry.item.id} call={entry.item} />))}
      </ul>
    </>
  );
}

function RefusedRow(props: { call: RefusedItem }) {
  const c = props.call;
  return (
    <li className="card" data-kind="refused">
      <div className="spread">
        <span><Badge status="refused" label={`refused ${c.status}`} /> {when(c.receivedAt)} · from <span className="mono">{c.sourceIp}</span></span>
      </div>
      <p><strong>Reason:</strong> <span className="reason">{c.reason}</span></p>
      <p className="muted">{c.bodyBytes === null ? 'Body not read' : `${c.bodyBytes} bytes`}{c.userAgent ? ` · ${c.userAgent}` : ''}</p>
    </li>
  );
}

/** The status a stored request was answered with, as far as the trigger fixes it (a result-mode answer depends on its run). */
function answeredStatus(wf: WorkflowItem): string {
  const response = wf.trigger['response'];
  if (response?.mode === 'static') return String(response.status ?? 200);
  if (response?.mode === 'result') return 'by its run';
  return '200';
}

function EventRow(props: { ws: string; base: string; event: EventItem; run: RunItem | undefined; canEdit: boolean; answered: string }) {
  const e = props.event;
  const [testRun, setTestRun] = useState<any>(null);
  const [mode, setMode] = useState('mock');
  const [error, setError] = useState<unknown>(null);
  const runAsTest = () => {
    setError(null);
    api('POST', `${props.base}/test-runs`, { mode, event: { eventId: e.id }, ...(props.run ? { baselineRunId: props.run.id } : {}) }).then(setTestRun, setError);
  };
  return (
    <li className="card" data-kind="event">
      <div className="spread">
        <span>
          <Badge status={e.test ? 'test' : 'accepted'} label={e.test ? 'test endpoint · 200' : `accepted · ${props.answered}`} />{' '}
          {e.filtered && <Badge status="filtered" label="filtered: no run" />}{' '}
          {when(e.receivedAt)} · {e.webhook?.['method'] ?? 'POST'} from <span className="mono">{e.webhook?.['sourceIp'] ?? '?'}</span>
        </span>
        {props.run && <Link href={`/w/${seg(props.ws)}/runs/${seg(props.run.id)}`}>Run <Badge status={props.run.status} /></Link>}
      </div>
      <details>
        <summary>Headers and body</summary>
        <h3>Headers</h3>
        <JsonView value={e.headers} label="Headers" />
        <h3>Body</h3>
        <BodyView body={e.body} />
      </details>
      {props.canEdit && (
        <div className="row" style={{ marginTop: '0.5rem' }}>
          <label htmlFor={`mode-${e.id}`} className="hint" style={{ margin: 0 }}>Test run mode</label>
          <select id={`mode-${e.id}`} value={mode} onChange={(ev) => setMode(ev.target.value)} style={{ width: 'auto' }}>
            <option value="mock">mock (no outbound calls)</option>
            <option value="live">live</option>
          </select>
          <button className="btn" type="button" onClick={runAsTest}>Run this event as a test</button>
        </div>
      )}
      <ErrorBox error={error} />
      {testRun && (
        <div>
          <h3>Test run <Badge status={testRun.status} /></h3>
          <table>
            <thead><tr><th scope="col">Step</th><th scope="col">Status</th><th scope="col">Output</th><th scope="col">Compared with the run</th></tr></thead>
            <tbody>
              {testRun.steps.map((step: any) => (
                <tr key={step.id}>
                  <td className="mono">{step.id}</td>
                  <td><Badge status={step.status} /></td>
                  <td>{step.error ? <span className="reason">{step.error}</span> : <JsonView value={step.output} />}</td>
                  <td>{step.diff ? (step.diff.changed ? `changed: ${step.diff.fields.join(', ')}` : 'unchanged') : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </li>
  );
}
