import { useEffect, useState } from 'react';
import { Link } from 'wouter';
import { api, seg } from '../api';
import { AlertsPanel } from '../components/AlertsPanel';
import { Badge, ErrorBox, useLoad } from '../components/common';
import { useCanEdit } from '../session';
import { StatsPanel } from './Health';

export interface WorkflowItem {
  id: string; name: string; enabled: boolean; version: number; updatedAt: string;
  trigger: Record<string, any>; steps: Record<string, any>[]; webhookUrl: string; testWebhookUrl: string;
}

interface Activity { webhooks: { total: number; errors: number }; runs: { byStatus: Record<string, number> } }

/** A workspace's workflows with their status and last-24-hour activity. */
export function Workspace(props: { ws: string }) {
  const canEdit = useCanEdit();
  const workspace = useLoad<{ id: string; name: string }>(`/api/workspaces/${seg(props.ws)}`);
  const list = useLoad<{ items: WorkflowItem[] }>(`/api/workspaces/${seg(props.ws)}/workflows?limit=200`);
  const [activity, setActivity] = useState<Record<string, Activity>>({});

  useEffect(() => {
    for (const wf of list.data?.items ?? []) {
      api<Activity>('GET', `/api/workspaces/${seg(props.ws)}/workflows/${seg(wf.id)}/stats?windowSeconds=86400`).then(
        (stats) => setActivity((old) => ({ ...old, [wf.id]: stats })),
        () => undefined,
      );
    }
  }, [list.data, props.ws]);

  return (
    <>
      <p><Link href="/">Workspaces</Link> /</p>
      <div className="spread">
        <h1>{workspace.data?.name ?? props.ws}</h1>
        <div className="row">
          <Link className="btn" href={`/w/${seg(props.ws)}/secrets`}>Secrets</Link>
          <Link className="btn" href={`/w/${seg(props.ws)}/alerts`}>Alerts</Link>
          {canEdit && <Link className="btn primary" href={`/w/${seg(props.ws)}/new`}>New workflow</Link>}
        </div>
      </div>
      <ErrorBox error={workspace.error ?? list.error} />
      <h2>Workflows</h2>
      {list.data && list.data.items.length === 0 && <p className="empty">No workflow in this workspace yet.</p>}
      {list.data && list.data.items.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr><th scope="col">Workflow</th><th scope="col">Status</th><th scope="col">Requests (24 h)</th><th scope="col">Errors (24 h)</th><th scope="col" className="opt">Failed runs (24 h)</th></tr>
            </thead>
            <tbody>
              {list.data.items.map((wf) => {
                const a = activity[wf.id];
                return (
                  <tr key={wf.id}>
                    <td><Link href={`/w/${seg(props.ws)}/f/${seg(wf.id)}`}>{wf.name}</Link><div className="muted mono">{wf.id}</div></td>
                    <td><Badge status={wf.enabled ? 'enabled' : 'disabled'} /></td>
                    <td>{a ? a.webhooks.total : '…'}</td>
                    <td>{a ? a.webhooks.errors : '…'}</td>
                    <td className="opt">{a ? a.runs.byStatus['failed'] ?? 0 : '…'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <h2>Health of the workspace</h2>
      <StatsPanel statsPath={`/api/workspaces/${seg(props.ws)}/stats`} label="Workspace health" />
      <AlertsPanel ws={props.ws} />
    </>
  );
}
