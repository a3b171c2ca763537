import { useState, type FormEvent } from 'react';
import { Link } from 'wouter';
import { api, seg } from '../api';
import { ErrorBox, useLoad, when } from '../components/common';
import { useCanEdit } from '../session';

interface SecretItem { name: string; allowedOrigins: string[]; createdAt: string; updatedAt: string }

/** Workspace secrets, by name only: a value is written here and never shown again. */
export function Secrets(props: { ws: string }) {
  const canEdit = useCanEdit();
  const base = `/api/workspaces/${seg(props.ws)}/secrets`;
  const list = useLoad<{ items: SecretItem[] }>(canEdit ? `${base}?limit=200` : null);
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [origins, setOrigins] = useState('');
  const [error, setError] = useState<unknown>(null);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      const allowedOrigins = origins.split(/[\s,]+/).filter((o) => o !== '');
      await api('PUT', `${base}/${seg(name)}`, { value, ...(allowedOrigins.length === 0 ? {} : { allowedOrigins }) });
      setName('');
      setValue('');
      setOrigins('');
      list.reload();
    } catch (failure) {
      setError(failure);
    }
  };
  const remove = async (secret: string) => {
    if (!window.confirm(`Delete the secret ${secret}? Steps that use it will fail.`)) return;
    await api('DELETE', `${base}/${seg(secret)}`).then(list.reload, setError);
  };

  return (
    <>
      <p><Link href="/">Workspaces</Link> / <Link href={`/w/${seg(props.ws)}`}>{props.ws}</Link> /</p>
      <h1>Workspace secrets</h1>
      <p className="muted">Steps use them as <code>{'{{secrets.NAME}}'}</code>. Values are encrypted at rest and never shown again.</p>
      {!canEdit && <p className="empty">Workspace secrets are managed by editors; your role cannot list them.</p>}
      <ErrorBox error={list.error ?? error} />
      {list.data && list.data.items.length === 0 && <p className="empty">No secret yet.</p>}
      {list.data && list.data.items.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead><tr><th scope="col">Name</th><th scope="col">May be sent to</th><th scope="col" className="opt">Updated</th><th scope="col"><span className="skip">Actions</span></th></tr></thead>
            <tbody>
              {list.data.items.map((s) => (
                <tr key={s.name}>
                  <td className="mono">{s.name}</td>
                  <td>{s.allowedOrigins.length === 0 ? <span className="muted">anywhere</span> : s.allowedOrigins.join(', ')}</td>
                  <td className="opt">{when(s.updatedAt)}</td>
                  <td><button className="btn danger" type="button" onClick={() => remove(s.name)} aria-label={`Delete secret ${s.name}`}>Delete</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {canEdit && (
        <form className="card" onSubmit={save}>
          <h2>Set a secret</h2>
          <div className="grid2">
            <div><label htmlFor="secret-name">Name</label><input id="secret-name" required value={name} onChange={(e) => setName(e.target.value)} pattern="[A-Za-z_][A-Za-z0-9_]*" /></div>
            <div><label htmlFor="secret-value">Value <span className="hint">(write-only)</span></label><input id="secret-value" type="password" autoComplete="off" required value={value} onChange={(e) => setValue(e.target.value)} /></div>
          </div>
          <label htmlFor="secret-origins">Allowed origins <span className="hint">(optional, e.g. https://api.example.com; empty: anywhere)</span></label>
          <input id="secret-origins" value={origins} onChange={(e) => setOrigins(e.target.value)} />
          <p><button className="btn primary" type="submit">Save secret</button></p>
        </form>
      )}
    </>
  );
}
