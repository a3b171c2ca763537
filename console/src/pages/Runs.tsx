import { useCallback, useEffect, useState } from 'react';
import { Link } from 'wouter';
import { api, seg } from '../api';
import { Badge, ErrorBox, msBetween, when } from '../components/common';
import { useWorkflowStream } from '../components/useStream';
import { useCanEdit } from '../session';
import type { WorkflowItem } from './Workspace';

export interface RunSummary {
  id: string; eventId: string; status: string; attempts: number; maxAttempts: number; createdAt: string; startedAt: string | null; finishedAt: string | null;
  error: string | null; replayOf: string | null; workflowVersion: number;
}
interface Job { id: string; kind: string; status: string; total: number; done: number; failed: number; lastError: string | null }

/** A workflow's runs with a status filter, live updates and bulk replay / resume of failed runs. */
export function Runs(props: { ws: string; wf: WorkflowItem }) {
  const canEdit = useCanEdit();
  const [status, setStatus] = useState('');
  const [runs, setRuns] = useState<RunSummary[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [job, setJob] = useState<Job | null>(null);
  const base = `/api/workspaces/${seg(props.ws)}/workflows/${seg(props.wf.id)}`;

  useEffect(() => {
    api<{ items: RunSummary[] }>('GET', `${base}/runs?limit=100${status ? `&status=${status}` : ''}`).then((page) => setRuns(page.items), setError);
  }, [base, status]);

  const onRun = useCallback((run: RunSummary) => {
    setRuns((old) => {
      const rest = old.filter((r) => r.id !== run.id);
      if (status !== '' && run.status !== status) return rest;
      return [run, ...rest].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    });
  }, [status]);
  const live = useWorkflowStream(props.ws, props.wf.id, (message) => message.type === 'run' && onRun(message.data));

  useEffect(() => {
    if (job === null || job.status !== 'running') return;
    const timer = setInterval(() => {
      api<Job>('GET', `/api/workspaces/${seg(props.ws)}/jobs/${seg(job.id)}`).then(setJob, setError);
    }, 1000);
    return () => clearInterval(timer);
  }, [job, props.ws]);

  const bulk = (kind: 'replay' | 'resume') => {
    setError(null);
    api<Job>('POST', `${base}/runs/${kind}`, { status: 'failed' }).then(setJob, setError);
  };

  return (
    <>
      <div className="spread">
        <div className="row">
          <label htmlFor="status-filter" style={{ margin: 0 }}>Status</label>
          <select id="status-filter" value={status} onChange={(e) => setStatus(e.target.value)} style={{ width: 'auto' }}>
            <option value="">All</option>
            {['queued', 'running', 'succeeded', 'failed'].map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
          <span className="muted" role="status">{live ? 'Live' : 'Connecting…'}</span>
        </div>
        {canEdit && (
          <div className="row">
            <button className="btn" type="button" onClick={() => bulk('resume')}>Resume all failed</button>
            <button className="btn" type="button" onClick={() => bulk('replay')}>Replay all failed</button>
          </div>
        )}
      </div>
      {job && (
        <div className="card" role="status" aria-label="Bulk job">
          Bulk {job.kind}: <Badge status={job.status === 'cancelled' ? 'skipped' : job.status} label={job.status} />{' '}
          <progress max={Math.max(job.total, 1)} value={job.done + job.failed} aria-label="Bulk job progress" /> {job.done + job.failed} of {job.total}{job.failed > 0 ? ` (${job.failed} failed)` : ''}
          {job.lastError && <div className="muted">{job.lastError}</div>}
        </div>
      )}
      <ErrorBox error={error} />
      {runs.length === 0 && <p className="empty">No run{status ? ` with status ${status}` : ''} yet.</p>}
      {runs.length > 0 && (
        <div className="table-wrap">
          <table aria-label="Runs">
            <thead><tr><th scope="col">Run</th><th scope="col">Status</th><th scope="col" className="opt">Attempts</th><th scope="col">Created</th><th scope="col" className="opt">Duration</th></tr></thead>
            <tbody>
              {runs.map((run) => {
                const ms = msBetween(run.startedAt, run.finishedAt);
                return (
                  <tr key={run.id} data-run={run.id}>
                    <td><Link href={`/w/${seg(props.ws)}/runs/${seg(run.id)}`} className="mono">{run.id}</Link>{run.replayOf && <div className="muted">replay of {run.replayOf}</div>}</td>
                    <td><Badge status={run.status} /></td>
                    <td className="opt">{run.attempts}/{run.maxAttempts}</td>
                    <td>{when(run.createdAt)}</td>
                    <td className="opt">{ms === null ? '—' : `${ms} ms`}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
