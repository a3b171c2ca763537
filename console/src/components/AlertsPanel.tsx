import { Link } from 'wouter';
import { seg } from '../api';
import { Badge, ErrorBox, useLoad, when } from './common';

/** A rule's current state (`GET …/alerts`). */
export interface AlertState {
  ruleId: string; ruleName: string; kind: string; workflowId: string | null; enabled: boolean;
  status: 'ok' | 'firing'; since: string | null; value: number | null; message: string | null;
}

interface HistoryEntry {
  id: string; ruleId: string; ruleName: string; status: string; at: string; value: number | null; message: string;
  deliveries: { id: string; status: string; attempts: number; lastStatus: number | null; lastError: string | null }[];
}

/** A measured value in the unit of its rule's kind (docs/observability.md, "Built-in alerts"). */
export function alertValue(kind: string | undefined, value: number | null): string {
  if (value === null) return '—';
  if (kind === 'run_failure_rate') return `${(value * 100).toFixed(1)} %`;
  if (kind === 'queue_lag' || kind === 'silence') return `${Math.round(value)} s`;
  return String(value);
}

/** How the notifications of a history entry went, in words. */
function deliverySummary(entry: HistoryEntry): string {
  if (entry.deliveries.length === 0) return 'no channel';
  return entry.deliveries.map((d) => (d.status === 'delivered' ? 'delivered' : `${d.status}${d.lastError ? ` (${d.lastError})` : ''}`)).join(', ');
}

/**
 * Firing alerts and recent alert history of a workspace, or of one workflow (`workflowId`):
 * what the Health views show. History entries are matched to the workflow through their rule.
 */
export function AlertsPanel(props: { ws: string; workflowId?: string }) {
  const base = `/api/workspaces/${seg(props.ws)}/alerts`;
  const current = useLoad<{ firing: number; items: AlertState[] }>(base);
  const history = useLoad<{ items: HistoryEntry[] }>(`${base}/history?limit=50`);
  const rules = new Map((current.data?.items ?? []).map((item) => [item.ruleId, item]));
  const mine = (ruleId: string) => props.workflowId === undefined || rules.get(ruleId)?.workflowId === props.workflowId;
  const watching = (current.data?.items ?? []).filter((item) => mine(item.ruleId) && item.enabled);
  const firing = watching.filter((item) => item.status === 'firing');
  const recent = (history.data?.items ?? []).filter((entry) => mine(entry.ruleId)).slice(0, 10);

  return (
    <section aria-labelledby="alerts-heading" data-testid="alerts-panel">
      <div className="spread">
        <h2 id="alerts-heading">Alerts</h2>
        <Link className="btn" href={`/w/${seg(props.ws)}/alerts`}>Alert rules and channels</Link>
      </div>
      <ErrorBox error={current.error ?? history.error} />
      {current.data && watching.length === 0 && <p className="empty">No enabled alert rule watches this {props.workflowId === undefined ? 'workspace' : 'workflow'}.</p>}
      {current.data && watching.length > 0 && firing.length === 0 && <p className="alert info" role="status">All {watching.length} alert rule{watching.length === 1 ? '' : 's'} OK.</p>}
      {firing.length > 0 && (
        <div className="table-wrap">
          <table aria-label="Firing alerts">
            <thead><tr><th scope="col">Rule</th><th scope="col">State</th><th scope="col">Since</th><th scope="col">Value</th><th scope="col" className="opt">What</th></tr></thead>
            <tbody>
              {firing.map((item) => (
                <tr key={item.ruleId}>
                  <td>{item.ruleName}<div className="muted mono">{item.kind}{item.workflowId === null ? ' · workspace' : ` · ${item.workflowId}`}</div></td>
                  <td><Badge status="firing" /></td>
                  <td>{when(item.since)}</td>
                  <td>{alertValue(item.kind, item.value)}</td>
                  <td className="opt">{item.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h3>Recent alert history</h3>
      {history.data && recent.length === 0 && <p className="empty">No alert has fired or resolved yet.</p>}
      {recent.length > 0 && (
        <ul className="history" aria-label="Alert history">
          {recent.map((entry) => (
            <li key={entry.id}>
              <Badge status={entry.status} /> <strong>{entry.ruleName}</strong> · {when(entry.at)} · {alertValue(rules.get(entry.ruleId)?.kind, entry.value)}
              <div className="muted">{entry.message} — notification: {deliverySummary(entry)}</div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
