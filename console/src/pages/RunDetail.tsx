import { useEffect, useState } from 'react';
import { Link } from 'wouter';
import { api, seg } from '../api';
import { Badge, ErrorBox, useLoad, when } from '../components/common';
import { JsonView } from '../components/JsonView';
import { useCanEdit } from '../session';

interface Step {
  id: string; type: string; status: string; attempt: number; startedAt: string; finishedAt: string; durationMs: number; output: unknown; error: string | null;
  logs: unknown[]; condition?: unknown; continuedOnError?: boolean; attempts: { attempt: number; status: string; error: string | null }[];
}
interface Run {
  id: string; workflowId: string; workflowVersion: number; eventId: string; status: string; attempts: number; maxAttempts: number; createdAt: string;
  startedAt: string | null; finishedAt: string | null; error: string | null; replayOf: string | null; memory: Record<string, unknown>; steps: Step[];
}

/** A run as a step timeline (duration bars), each step's output, logs and error, the memory, and replay / resume. */
export function RunDetail(props: { ws: string; runId: string }) {
  const canEdit = useCanEdit();
  const path = `/api/workspaces/${seg(props.ws)}/runs/${seg(props.runId)}`;
  const run = useLoad<Run>(path);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const r = run.data;

  // A run not finished yet is re-read until it is (the stream is per workflow; one run is cheap to poll).
  useEffect(() => {
    if (r === undefined || r.status === 'succeeded' || r.status === 'failed') return;
    const timer = setTimeout(run.reload, 1000);
    return () => clearTimeout(timer);
  }, [r, run.reload]);

  const act = (kind: 'replay' | 'resume', body?: unknown) => {
    setError(null);
    api<{ id: string; status: string }>('POST', `${path}/${kind}`, body).then((answer) => {
      setNotice(kind === 'replay' ? `Replay queued as ${answer.id}` : 'Resumed: the run continues from its failed step.');
      run.reload();
    }, setError);
  };

  const start = r?.steps.length ? Math.min(...r.steps.map((s) => new Date(s.startedAt).getTime())) : 0;
  const end = r?.steps.length ? Math.max(...r.steps.map((s) => new Date(s.finishedAt).getTime())) : 1;
  const span = Math.max(1, end - start);

  return (
    <>
      <p><Link href="/">Workspaces</Link> / <Link href={`/w/${seg(props.ws)}`}>{props.ws}</Link> / {r && <><Link href={`/w/${seg(props.ws)}/f/${seg(r.workflowId)}/runs`}>{r.workflowId}</Link> /</>}</p>
      <h1>Run <span className="mono">{props.runId}</span> {r && <Badge status={r.status} />}</h1>
      <ErrorBox error={run.error ?? error} />
      {notice && <p role="status" className="alert info">{notice}</p>}
      {r && (
        <>
          <p className="muted">Version {r.workflowVersion} · attempt {r.attempts} of {r.maxAttempts} · created {when(r.createdAt)} · finished {when(r.finishedAt)}{r.replayOf ? ` · replay of ${r.replayOf}` : ''}</p>
          {r.error && <p className="alert error"><strong>Error:</strong> {r.error}</p>}
          {canEdit && (
            <div className="row">
              {r.status === 'failed' && <button className="btn primary" type="button" onClick={() => act('resume', { version: 'latest' })}>Resume on the latest version</button>}
              {r.status === 'failed' && <button className="btn" type="button" onClick={() => act('resume', { version: 'original' })}>Resume on version {r.workflowVersion}</button>}
              <button className="btn" type="button" onClick={() => act('replay')}>Replay</button>
            </div>
          )}
          <h2>Steps</h2>
          {r.steps.length === 0 && <p className="empty">No step has run yet.</p>}
          <ol className="timeline" style={{ listStyle: 'none', padding: 0 }} aria-label="Step timeline">
            {r.steps.map((step) => {
              const left = ((new Date(step.startedAt).getTime() - start) / span) * 100;
              const width = Math.max(0.5, (step.durationMs / span) * 100);
              return (
                <li key={step.id} className="card" data-step={step.id}>
                  <div className="spread">
                    <span><strong className="mono">{step.id}</strong> <span className="muted">{step.type}</span> <Badge status={step.status} />{step.continuedOnError && <Badge status="skipped" label="continued on error" />}</span>
                    <span className="muted">{step.durationMs} ms{step.attempts.length > 1 ? ` · ${step.attempts.length} attempts` : ''}</span>
                  </div>
                  <div className="bar-track" aria-hidden="true"><div className={`bar ${step.status}`} style={{ left: `${left}%`, width: `${width}%` }} /></div>
                  {step.error && <p className="alert error">{step.error}</p>}
                  <details open>
                    <summary>Output</summary>
                    <div data-testid={`output-${step.id}`}><JsonView value={step.output} label={`Output of ${step.id}`} /></div>
                  </details>
                  {step.logs.length > 0 && <details><summary>Logs ({step.logs.length})</summary><pre>{step.logs.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n')}</pre></details>}
                  {step.condition !== undefined && <p className="muted">Condition: <code>{JSON.stringify(step.condition)}</code></p>}
                </li>
              );
            })}
          </ol>
          <h2>Memory</h2>
          <div className="card"><JsonView value={r.memory} label="Run memory" /></div>
        </>
      )}
    </>
  );
}
