import { useRef, useState, type FormEvent } from 'react';
import { Link } from 'wouter';
import { api, seg } from '../api';
import { Badge, ErrorBox, useLoad } from '../components/common';
import { useCanEdit } from '../session';
import { AlertChannels, type ChannelItem } from './AlertChannels';
import { KINDS, paramsFromTexts, paramsLine, paramTexts } from './alert-kinds';

interface RuleItem {
  id: string; name: string; kind: string; workflowId: string | null; params: Record<string, unknown>;
  channelIds: string[]; enabled: boolean; createdAt: string; updatedAt: string;
}

interface RuleForm { id: string | null; name: string; kind: string; workflowId: string; params: Record<string, string>; channelIds: string[]; enabled: boolean }

const emptyForm = (): RuleForm => ({ id: null, name: '', kind: 'run_failure_rate', workflowId: '', params: paramTexts('run_failure_rate'), channelIds: [], enabled: true });

/** A workspace's alert rules and channels (docs/console.md, "Alerts"); viewers read them only. */
export default function Alerts(props: { ws: string }) {
  const canEdit = useCanEdit();
  const base = `/api/workspaces/${seg(props.ws)}`;
  const rules = useLoad<{ items: RuleItem[] }>(`${base}/alert-rules`);
  const channels = useLoad<{ items: ChannelItem[] }>(`${base}/alert-channels`);
  const workflows = useLoad<{ items: { id: string; name: string }[] }>(`${base}/workflows?limit=200`);
  const [form, setForm] = useState<RuleForm>(emptyForm);
  const [error, setError] = useState<unknown>(null);
  const formRef = useRef<HTMLFormElement>(null);
  const set = <K extends keyof RuleForm>(key: K, value: RuleForm[K]) => setForm((old) => ({ ...old, [key]: value }));
  const channelName = (id: string) => channels.data?.items.find((c) => c.id === id)?.name ?? id;

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    const params = paramsFromTexts(form.kind, form.params);
    try {
      if (form.id === null) {
        await api('POST', `${base}/alert-rules`, { name: form.name, kind: form.kind, workflowId: form.workflowId || null, params, channelIds: form.channelIds, enabled: form.enabled });
      } else {
        await api('PATCH', `${base}/alert-rules/${seg(form.id)}`, { name: form.name, params, channelIds: form.channelIds, enabled: form.enabled });
      }
      setForm(emptyForm());
      rules.reload();
    } catch (failure) {
      setError(failure);
    }
  };
  const edit = (rule: RuleItem) => {
    setError(null);
    setForm({ id: rule.id, name: rule.name, kind: rule.kind, workflowId: rule.workflowId ?? '', params: paramTexts(rule.kind, rule.params), channelIds: rule.channelIds, enabled: rule.enabled });
    formRef.current?.scrollIntoView({ block: 'start' });
    setTimeout(() => formRef.current?.querySelector<HTMLInputElement>('#rule-name')?.focus(), 0);
  };
  const toggle = async (rule: RuleItem) => {
    setError(null);
    await api('PATCH', `${base}/alert-rules/${seg(rule.id)}`, { enabled: !rule.enabled }).then(rules.reload, setError);
  };
  const remove = async (rule: RuleItem) => {
    if (!window.confirm(`Delete the alert rule ${rule.name}? Its history stays.`)) return;
    setError(null);
    await api('DELETE', `${base}/alert-rules/${seg(rule.id)}`).then(rules.reload, setError);
    if (form.id === rule.id) setForm(emptyForm());
  };
  const kind = KINDS[form.kind];

  return (
    <>
      <p><Link href="/">Workspaces</Link> / <Link href={`/w/${seg(props.ws)}`}>{props.ws}</Link> /</p>
      <h1>Alerts</h1>
      <p className="muted">Rules are evaluated from stored data about every 30 s; firing alerts show on the Health views. What each kind measures: docs/observability.md.</p>
      <ErrorBox error={rules.error ?? channels.error ?? error} />

      <section aria-labelledby="rules-heading">
        <h2 id="rules-heading">Rules</h2>
        {rules.data && rules.data.items.length === 0 && <p className="empty">No alert rule yet.</p>}
        {rules.data && rules.data.items.length > 0 && (
          <div className="table-wrap">
            <table aria-label="Alert rules">
              <thead><tr><th scope="col">Rule</th><th scope="col">Watches</th><th scope="col" className="opt">Params</th><th scope="col" className="opt">Channels</th><th scope="col">Status</th>{canEdit && <th scope="col"><span className="skip">Actions</span></th>}</tr></thead>
              <tbody>
                {rules.data.items.map((r) => (
                  <tr key={r.id}>
                    <td>{r.name}<div className="muted mono">{r.kind}</div></td>
                    <td>{r.workflowId === null ? 'whole workspace' : <span className="mono">{r.workflowId}</span>}</td>
                    <td className="opt mono">{paramsLine(r.params)}</td>
                    <td className="opt">{r.channelIds.length === 0 ? <span className="muted">none</span> : r.channelIds.map(channelName).join(', ')}</td>
                    <td><Badge status={r.enabled ? 'enabled' : 'disabled'} /></td>
                    {canEdit && (
                      <td>
                        <div className="row">
                          <button className="btn" type="button" onClick={() => edit(r)} aria-label={`Edit rule ${r.name}`}>Edit</button>
                          <button className="btn" type="button" onClick={() => toggle(r)} aria-label={`${r.enabled ? 'Disable' : 'Enable'} rule ${r.name}`}>{r.enabled ? 'Disable' : 'Enable'}</button>
                          <button className="btn danger" type="button" onClick={() => remove(r)} aria-label={`Delete rule ${r.name}`}>Delete</button>
                        </div>
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {canEdit && kind && (
          <form className="card" onSubmit={save} ref={formRef} aria-labelledby="rule-form-heading">
            <h3 id="rule-form-heading">{form.id === null ? 'New rule' : `Edit rule ${form.name}`}</h3>
            <div className="grid2">
              <div><label htmlFor="rule-name">Rule name</label><input id="rule-name" required maxLength={200} value={form.name} onChange={(e) => set('name', e.target.value)} /></div>
              <div>
                <label htmlFor="rule-kind">Kind {form.id !== null && <span className="hint">(fixed once created)</span>}</label>
                <select id="rule-kind" value={form.kind} disabled={form.id !== null} onChange={(e) => setForm((old) => ({ ...old, kind: e.target.value, params: paramTexts(e.target.value) }))}>
                  {Object.entries(KINDS).map(([value, k]) => <option key={value} value={value}>{k.label} ({value})</option>)}
                </select>
              </div>
              <div>
                <label htmlFor="rule-workflow">Watches {form.id !== null && <span className="hint">(fixed once created)</span>}</label>
                <select id="rule-workflow" value={form.workflowId} disabled={form.id !== null} required={kind.workflowOnly === true} onChange={(e) => set('workflowId', e.target.value)}>
                  <option value="">{kind.workflowOnly ? 'Choose a workflow' : 'The whole workspace'}</option>
                  {(workflows.data?.items ?? []).map((wf) => <option key={wf.id} value={wf.id}>{wf.name} ({wf.id})</option>)}
                </select>
              </div>
            </div>
            <fieldset>
              <legend>Parameters <span className="hint">(the defaults are filled in)</span></legend>
              <div className="grid2">
                {kind.params.map((p) => (
                  <div key={p.name}>
                    <label htmlFor={`param-${p.name}`}>{p.label} {p.hint && <span className="hint">({p.hint})</span>}</label>
                    <input id={`param-${p.name}`} type="number" min={0} step={p.step ?? 1} required={p.fallback !== undefined} value={form.params[p.name] ?? ''}
                      onChange={(e) => setForm((old) => ({ ...old, params: { ...old.params, [p.name]: e.target.value } }))} />
                  </div>
                ))}
              </div>
            </fieldset>
            <fieldset>
              <legend>Notify these channels</legend>
              {(channels.data?.items ?? []).length === 0 && <p className="muted">No channel yet: create one below; the rule still shows on Health.</p>}
              <div className="checks">
              {(channels.data?.items ?? []).map((c) => (
                <label key={c.id}>
                  <input type="checkbox" checked={form.channelIds.includes(c.id)}
                    onChange={(e) => set('channelIds', e.target.checked ? [...form.channelIds, c.id] : form.channelIds.filter((id) => id !== c.id))} /> {c.name}
                </label>
              ))}
              </div>
            </fieldset>
            <div className="checks"><label><input type="checkbox" checked={form.enabled} onChange={(e) => set('enabled', e.target.checked)} /> Enabled</label></div>
            <p className="row">
              <button className="btn primary" type="submit">{form.id === null ? 'Create rule' : 'Save rule'}</button>
              {form.id !== null && <button className="btn" type="button" onClick={() => setForm(emptyForm())}>Cancel</button>}
            </p>
          </form>
        )}
      </section>

      <AlertChannels ws={props.ws} channels={channels.data?.items} canEdit={canEdit} reload={channels.reload} />
    </>
  );
}
