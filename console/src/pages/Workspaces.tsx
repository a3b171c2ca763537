import { useState, type FormEvent } from 'react';
import { Link, useLocation } from 'wouter';
import { api, seg } from '../api';
import { ErrorBox, useLoad, when } from '../components/common';
import { useCanEdit, useSession } from '../session';

interface WorkspaceItem { id: string; name: string; createdAt: string }

/** Every workspace the session may see; editors with an all-workspace token create new ones. */
export function Workspaces() {
  const session = useSession();
  const canEdit = useCanEdit();
  const list = useLoad<{ items: WorkspaceItem[] }>('/api/workspaces?limit=200');
  const [, navigate] = useLocation();
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>(null);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      const created = await api<WorkspaceItem>('POST', '/api/workspaces', { ...(id === '' ? {} : { id }), name });
      navigate(`/w/${seg(created.id)}`);
    } catch (failure) {
      setError(failure);
    }
  };

  return (
    <>
      <h1>Workspaces</h1>
      <ErrorBox error={list.error} />
      {list.data && list.data.items.length === 0 && <p className="empty">No workspace yet.</p>}
      {list.data && list.data.items.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead><tr><th scope="col">Workspace</th><th scope="col">Id</th><th scope="col" className="opt">Created</th></tr></thead>
            <tbody>
              {list.data.items.map((ws) => (
                <tr key={ws.id}>
                  <td><Link href={`/w/${seg(ws.id)}`}>{ws.name}</Link></td>
                  <td className="mono">{ws.id}</td>
                  <td className="opt">{when(ws.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {canEdit && session.workspaceId === null && (
        <form className="card" onSubmit={create}>
          <h2>New workspace</h2>
          <div className="grid2">
            <div>
              <label htmlFor="ws-name">Name</label>
              <input id="ws-name" required value={name} onChange={(e) => setName(e.target.value)} />
            </div>
            <div>
              <label htmlFor="ws-id">Id <span className="hint">(optional; letters, digits, - and _)</span></label>
              <input id="ws-id" value={id} onChange={(e) => setId(e.target.value)} pattern="[A-Za-z0-9][A-Za-z0-9_\-]{0,63}" />
            </div>
          </div>
          <ErrorBox error={error} />
          <p><button className="btn primary" type="submit">Create workspace</button></p>
        </form>
      )}
    </>
  );
}
