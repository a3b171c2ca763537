import { lazy, Suspense, useMemo, useState } from 'react';
import { Link } from 'wouter';
import { seg } from '../api';
import { AlertsPanel } from '../components/AlertsPanel';
import { ErrorBox, useLoad, when } from '../components/common';
import type { RunSummary } from './Runs';
import type { WorkflowItem } from './Workspace';

const Chart = lazy(() => import('../components/Chart'));

interface Stats {
  windowSeconds: number; webhooks: { total: number; errors: number }; errorRate: number | null; p95Ms: number | null;
  runs: { total: number; byStatus: Record<string, number>; durationMs: { p95: number | null } };
  series: { bucketSeconds: number; buckets: { start: string; webhooks: number; errors: number; runsSucceeded: number; runsFailed: number }[] };
}

const percent = (rate: number | null) => (rate === null ? '—' : `${(rate * 100).toFixed(1)} %`);

/** Requests per minute, error rate and p95 response time over the last hour or day, as numbers and small charts. */
export function StatsPanel(props: { statsPath: string; label: string }) {
  const [window, setWindow] = useState(3600);
  const stats = useLoad<Stats>(`${props.statsPath}?windowSeconds=${window}`);
  const chart = useMemo(() => {
    const buckets = stats.data?.series.buckets ?? [];
    const perMinute = 60 / (stats.data?.series.bucketSeconds ?? 60);
    return {
      x: buckets.map((b) => new Date(b.start).getTime() / 1000),
      requests: [{ label: 'requests/min', values: buckets.map((b) => b.webhooks * perMinute), color: '#1a73e8' }, { label: 'errors/min', values: buckets.map((b) => b.errors * perMinute), color: '#d93025' }],
      runs: [{ label: 'succeeded', values: buckets.map((b) => b.runsSucceeded), color: '#188038' }, { label: 'failed', values: buckets.map((b) => b.runsFailed), color: '#d93025' }],
    };
  }, [stats.data]);
  const s = stats.data;
  const id = `window-${props.label.replace(/\W+/g, '-')}`;
  return (
    <section aria-label={props.label}>
      <div className="row">
        <label htmlFor={id} style={{ margin: 0 }}>Window</label>
        <select id={id} value={window} onChange={(e) => setWindow(Number(e.target.value))} style={{ width: 'auto' }}>
          <option value={3600}>Last hour</option>
          <option value={86400}>Last day</option>
        </select>
      </div>
      <ErrorBox error={stats.error} />
      {s && (
        <>
          <div className="grid2" style={{ marginTop: '0.75rem' }}>
            <div className="card"><div className="muted">Requests</div><strong>{s.webhooks.total}</strong> ({(s.webhooks.total / (s.windowSeconds / 60)).toFixed(2)}/min)</div>
            <div className="card"><div className="muted">Error rate</div><strong>{percent(s.errorRate)}</strong></div>
            <div className="card"><div className="muted">p95 response time</div><strong>{s.p95Ms === null ? '—' : `${s.p95Ms} ms`}</strong></div>
            <div className="card"><div className="muted">Runs failed / total</div><strong>{s.runs.byStatus['failed'] ?? 0} / {s.runs.total}</strong></div>
          </div>
          <Suspense fallback={<p className="muted">Loading charts…</p>}>
            <div className="grid2">
              <Chart title="Requests and errors per minute" x={chart.x} series={chart.requests} />
              <Chart title="Runs finished per bucket" x={chart.x} series={chart.runs} />
            </div>
          </Suspense>
        </>
      )}
    </section>
  );
}

/** A workflow's health: its stats, dead letters, and its firing alerts and alert history. */
export function Health(props: { ws: string; wf: WorkflowItem }) {
  const base = `/api/workspaces/${seg(props.ws)}/workflows/${seg(props.wf.id)}`;
  const dead = useLoad<{ items: RunSummary[] }>(`${base}/runs?status=failed&limit=20`);
  return (
    <>
      <StatsPanel statsPath={`${base}/stats`} label="Workflow health" />
      <h2>Dead letters</h2>
      <p className="muted">Runs that failed after their last attempt; resume or replay them from the run.</p>
      {dead.data && dead.data.items.length === 0 && <p className="empty">No failed run.</p>}
      {dead.data && dead.data.items.length > 0 && (
        <ul>{dead.data.items.map((run) => <li key={run.id}><Link href={`/w/${seg(props.ws)}/runs/${seg(run.id)}`} className="mono">{run.id}</Link> · {when(run.finishedAt)} · {run.error}</li>)}</ul>
      )}
      <AlertsPanel ws={props.ws} workflowId={props.wf.id} />
    </>
  );
}
