import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, onUnauthorized, type Session } from './api.js';
import { startLive, stopLive } from './live.js';
import { AlertsPage } from './pages/alerts.js';
import { ComponentsPage } from './pages/components.js';
import { FilePage } from './pages/file.js';
import { FilesPage } from './pages/files.js';
import { JobsPage } from './pages/jobs.js';
import { RequestsPage } from './pages/requests.js';
import { SignInPage } from './pages/sign-in.js';
import { StoragePage } from './pages/storage.js';
import { interceptLinks, match, navigate, useLocation } from './router.js';
import { SessionContext } from './session.js';
import './styles.css';
import { ErrorBox, Loading } from './ui/common.js';
import { Layout } from './ui/layout.js';

type SessionState = { state: 'checking' } | { state: 'out' } | { state: 'in'; session: Session } | { state: 'error'; error: unknown };

function Routes() {
  const { path } = useLocation();
  if (path === '/' || path === '/files') return <FilesPage />;
  const file = match('/files/:id', path);
  if (file) return <FilePage id={file.id!} />;
  if (path === '/components' || path === '/instruments') return <ComponentsPage />;
  if (path === '/alerts') return <AlertsPage />;
  if (path === '/jobs') return <JobsPage />;
  if (path === '/storage') return <StoragePage />;
  if (path === '/requests') return <RequestsPage />;
  return (
    <div class="page">
      <h1>Not found</h1>
      <p>
        There is no page at <code>{path}</code>. <a href="/files">Go to the files.</a>
      </p>
    </div>
  );
}

function App() {
  const [session, setSession] = useState<SessionState>({ state: 'checking' });
  const loc = useLocation();

  useEffect(() => interceptLinks(document.body), []);

  useEffect(() => {
    api<Session>('/session').then(
      (s) => setSession({ state: 'in', session: s }),
      (err: unknown) => setSession(err instanceof ApiError && err.status === 401 ? { state: 'out' } : { state: 'error', error: err }),
    );
    return onUnauthorized(() => setSession({ state: 'out' }));
  }, []);

  const signedIn = session.state === 'in';
  useEffect(() => {
    if (signedIn) startLive();
    else stopLive();
  }, [signedIn]);

  // Signed out anywhere: show the sign-in page at /sign-in, remembering where to return.
  useEffect(() => {
    if (session.state === 'out' && loc.path !== '/sign-in') {
      navigate(`/sign-in?next=${encodeURIComponent(loc.href)}`, { replace: true });
    }
    if (session.state === 'in' && loc.path === '/sign-in') {
      const next = loc.query.get('next');
      navigate(next?.startsWith('/') && !next.startsWith('//') ? next : '/files', { replace: true });
    }
  }, [session.state, loc.path, loc.href, loc.query]);

  if (session.state === 'checking') return <Loading what="Ferry" />;
  if (session.state === 'error') {
    return (
      <div class="page narrow">
        <ErrorBox error={session.error} title="Cannot reach the gateway" />
        <button type="button" onClick={() => window.location.reload()}>
          Try again
        </button>
      </div>
    );
  }
  if (session.state === 'out') return <SignInPage onSignedIn={(s) => setSession({ state: 'in', session: s })} />;
  if (loc.path === '/sign-in') return <Loading />;
  return (
    <SessionContext.Provider value={session.session}>
      <Layout
        onSignedOut={() => {
          setSession({ state: 'out' });
        }}
      >
        <Routes />
      </Layout>
    </SessionContext.Provider>
  );
}

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(<App />, root);
}
