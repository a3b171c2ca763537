import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api, seg } from '../api';
import { CopyButton, ErrorBox, when } from '../components/common';

export interface ChannelItem { id: string; name: string; url: string; createdAt: string }

interface TestResult { id: string; delivered: boolean; status: number | null; error: string | null }

/**
 * A workspace's notification channels: listed for everyone; editors create them (the `whsec_`
 * signing secret is shown once, right after creation), send a signed test and delete them.
 */
export function AlertChannels(props: { ws: string; channels: ChannelItem[] | undefined; canEdit: boolean; reload: () => void }) {
  const base = `/api/workspaces/${seg(props.ws)}/alert-channels`;
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [created, setCreated] = useState<{ name: string; secret: string } | null>(null);
  const [tests, setTests] = useState<Record<string, TestResult | 'sending'>>({});
  const [error, setError] = useState<unknown>(null);
  const secretBox = useRef<HTMLDivElement>(null);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      const answer = await api<ChannelItem & { secret: string }>('POST', base, { name, url });
      setCreated({ name: answer.name, secret: answer.secret });
      setName('');
      setUrl('');
      props.reload();
    } catch (failure) {
      setError(failure);
    }
  };
  // The secret is shown once: move focus to it so keyboard and screen-reader users find it.
  useEffect(() => {
    if (created !== null) secretBox.current?.focus();
  }, [created]);
  const sendTest = async (channel: ChannelItem) => {
    setError(null);
    setTests((old) => ({ ...old, [channel.id]: 'sending' }));
    try {
      const result = await api<TestResult>('POST', `${base}/${seg(channel.id)}/test`);
      setTests((old) => ({ ...old, [channel.id]: result }));
    } catch (failure) {
      setTests((old) => ({ ...old, [channel.id]: { id: '', delivered: false, status: null, error: (failure as Error).message } }));
    }
  };
  const remove = async (channel: ChannelItem) => {
    if (!window.confirm(`Delete the channel ${channel.name}? Rules stop notifying it.`)) return;
    await api('DELETE', `${base}/${seg(channel.id)}`).then(props.reload, setError);
  };

  const outcome = (id: string) => {
    const result = tests[id];
    if (result === undefined) return '';
    if (result === 'sending') return 'Sending…';
    if (result.delivered) return `Delivered (HTTP ${result.status})`;
    return `Not delivered: ${result.error ?? `HTTP ${result.status}`}`;
  };

  return (
    <section aria-labelledby="channels-heading">
      <h2 id="channels-heading">Channels</h2>
      <p className="muted">Outgoing webhooks (Slack-compatible body, signed per Standard Webhooks) notified when a rule fires or resolves.</p>
      <ErrorBox error={error} />
      {created && (
        <div className="card secret-once" ref={secretBox} tabIndex={-1} aria-labelledby="secret-heading">
          <h3 id="secret-heading">Signing secret of {created.name}</h3>
          <p>Copy it now: it is shown this once and never again. Receivers verify each notification with it.</p>
          <div className="row">
            <code className="mono secret" data-testid="channel-secret">{created.secret}</code>
            <CopyButton text={created.secret} label={`Copy the signing secret of ${created.name}`} />
            <button type="button" className="btn" onClick={() => setCreated(null)}>Done</button>
          </div>
        </div>
      )}
      {props.channels && props.channels.length === 0 && <p className="empty">No channel yet.</p>}
      {props.channels && props.channels.length > 0 && (
        <div className="table-wrap">
          <table aria-label="Channels">
            <thead><tr><th scope="col">Channel</th><th scope="col">URL</th><th scope="col" className="opt">Created</th>{props.canEdit && <th scope="col"><span className="skip">Actions</span></th>}</tr></thead>
            <tbody>
              {props.channels.map((c) => (
                <tr key={c.id}>
                  <td>{c.name}<div className="muted mono wrap">{c.id}</div></td>
                  <td className="mono wrap">{c.url}</td>
                  <td className="opt">{when(c.createdAt)}</td>
                  {props.canEdit && (
                    <td>
                      <div className="row">
                        <button className="btn" type="button" onClick={() => sendTest(c)} disabled={tests[c.id] === 'sending'} aria-label={`Send test to ${c.name}`}>Send test</button>
                        <button className="btn danger" type="button" onClick={() => remove(c)} aria-label={`Delete channel ${c.name}`}>Delete</button>
                      </div>
                      <div role="status" data-testid={`test-outcome-${c.id}`}>{outcome(c.id)}</div>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {props.canEdit && (
        <form className="card" onSubmit={create}>
          <h3>New channel</h3>
          <div className="grid2">
            <div><label htmlFor="channel-name">Channel name</label><input id="channel-name" required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} /></div>
            <div>
              <label htmlFor="channel-url">Channel URL <span className="hint">(https://…, e.g. a Slack incoming webhook)</span></label>
              <input id="channel-url" type="url" required value={url} onChange={(e) => setUrl(e.target.value)} />
            </div>
          </div>
          <p><button className="btn primary" type="submit">Create channel</button></p>
        </form>
      )}
    </section>
  );
}
