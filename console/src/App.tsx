import { lazy, Suspense, useCallback, useEffect, useState } from 'react';
import { Link, Route, Switch, useLocation } from 'wouter';
import { api, setCsrfToken, whenUnauthorized } from './api';
import { SessionContext, type SessionInfo } from './session';
import { SignIn } from './pages/SignIn';
import { Workspaces } from './pages/Workspaces';
import { Workspace } from './pages/Workspace';
import { Secrets } from './pages/Secrets';
import { WorkflowEditor } from './pages/WorkflowEditor';
import { Workflow } from './pages/Workflow';
import { RunDetail } from './pages/RunDetail';

/** The alerts page is loaded when first visited (it keeps the initial bundle small). */
const Alerts = lazy(() => import('./pages/Alerts'));

/** The console: sign-in until a session exists, then the pages. */
export function App() {
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);
  const [, navigate] = useLocation();

  const signedIn = useCallback((info: SessionInfo) => {
    setCsrfToken(info.csrfToken);
    setSession(info);
  }, []);

  useEffect(() => {
    whenUnauthorized(() => {
      setCsrfToken(null);
      setSession(null);
    });
    api<SessionInfo>('GET', '/api/session').then(signedIn, () => setSession(null));
  }, [signedIn]);

  if (session === undefined) return <main aria-busy="true"><p className="muted">Loading…</p></main>;
  if (session === null) return <SignIn onSignedIn={signedIn} />;

  const signOut = async () => {
    await api('DELETE', '/api/session').catch(() => undefined);
    setCsrfToken(null);
    setSession(null);
    navigate('/');
  };

  return (
    <SessionContext.Provider value={session}>
      <a className="skip" href="#content">Skip to content</a>
      <header className="topbar">
        <Link className="brand" href="/">hookflow</Link>
        <nav aria-label="Main">
          <Link href="/">Workspaces</Link>
        </nav>
        <div className="who">
          <span>{session.actor.name} · <span className="badge">{session.role}</span></span>
          <button className="btn" type="button" onClick={signOut}>Sign out</button>
        </div>
      </header>
      <main id="content">
        <Switch>
          <Route path="/"><Workspaces /></Route>
          <Route path="/w/:ws">{(p) => <Workspace ws={p.ws} />}</Route>
          <Route path="/w/:ws/secrets">{(p) => <Secrets ws={p.ws} />}</Route>
          <Route path="/w/:ws/alerts">{(p) => <Suspense fallback={<p className="muted">Loading…</p>}><Alerts ws={p.ws} /></Suspense>}</Route>
          <Route path="/w/:ws/new">{(p) => <WorkflowEditor ws={p.ws} />}</Route>
          <Route path="/w/:ws/f/:wf/edit">{(p) => <WorkflowEditor ws={p.ws} wf={p.wf} />}</Route>
          <Route path="/w/:ws/f/:wf/:tab?">{(p) => <Workflow ws={p.ws} wf={p.wf} tab={p.tab ?? 'overview'} />}</Route>
          <Route path="/w/:ws/runs/:runId">{(p) => <RunDetail ws={p.ws} runId={p.runId} />}</Route>
          <Route><h1>Not found</h1><p><Link href="/">Back to the workspaces</Link></p></Route>
        </Switch>
      </main>
    </SessionContext.Provider>
  );
}
