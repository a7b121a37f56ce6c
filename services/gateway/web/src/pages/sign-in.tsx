import { useState } from 'preact/hooks';
import { api, type Session } from '../api.js';
import { useTitle } from '../hooks.js';
import { ErrorBox } from '../ui/common.js';

/** Exchanges an API token for a session cookie; the token is not kept by the page. */
export function SignInPage(props: { onSignedIn: (s: Session) => void }) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();

  useTitle('Sign in · Ferry');

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(undefined);
    try {
      const session = await api<Session>('/session', { method: 'POST', body: { token: token.trim() } });
      setToken('');
      props.onSignedIn(session);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="sign-in">
      <form class="card sign-in-card" onSubmit={(e) => void submit(e)}>
        <h1>
          <svg width="28" height="28" viewBox="0 0 16 16" aria-hidden="true">
            <path d="M1 10h14l-2 4H3z" fill="#245fa8" />
            <path d="M7 2v7h1V2z" fill="#245fa8" />
            <path d="M8 3l4 5H8z" fill="#e58a1f" />
          </svg>
          Ferry
        </h1>
        <p class="muted">Sign in with an API token. Ask your operator for one, or create one with <code>ferry-gateway create-token</code>.</p>
        <label for="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          spellcheck={false}
          placeholder="fry_…"
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
          required
          autoFocus
        />
        <ErrorBox error={error} title="Sign-in failed" />
        <button type="submit" class="primary" disabled={busy || token.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p class="fine">The page keeps a session cookie for this browser only; the token itself is not stored.</p>
      </form>
    </div>
  );
}
