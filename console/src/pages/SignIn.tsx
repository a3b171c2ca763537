import { useState, type FormEvent } from 'react';
import { api, ApiError } from '../api';
import type { SessionInfo } from '../session';

/**
 * Exchanges a token for a session cookie. The token lives only in this form's state until the
 * answer comes: it is never stored in the browser nor put in a URL (the form posts with fetch).
 */
export function SignIn(props: { onSignedIn: (session: SessionInfo) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = await api<SessionInfo>('POST', '/api/session', { token });
      setToken('');
      props.onSignedIn(session);
    } catch (failure) {
      setError(failure instanceof ApiError && failure.status === 401 ? 'That token was not accepted: it is wrong or has been revoked.' : `Sign-in failed: ${(failure as Error).message}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="content" style={{ maxWidth: '28rem' }}>
      <h1>Sign in to hookflow</h1>
      <p className="muted">Paste the admin token or an API token. It is exchanged for a session; the browser keeps only a session cookie.</p>
      <form onSubmit={submit} method="post">
        <label htmlFor="token">Token</label>
        <input id="token" name="token" type="password" autoComplete="off" required value={token} onChange={(e) => setToken(e.target.value)} />
        {error !== null && <p role="alert" className="alert error">{error}</p>}
        <p><button className="btn primary" type="submit" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button></p>
      </form>
    </main>
  );
}
