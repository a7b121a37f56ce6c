import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { api, messageOf } from '../api.js';
import { useLiveEvent, useLiveState, type LiveState } from '../live.js';
import { navigate, useLocation } from '../router.js';
import { useSession } from '../session.js';
import { useApi, useCoalesced } from '../hooks.js';

const NAV = [
  { href: '/files', label: 'Files', match: (p: string) => p === '/' || p.startsWith('/files') },
  { href: '/components', label: 'Instruments & components', match: (p: string) => p === '/components' || p === '/instruments' },
  { href: '/alerts', label: 'Alerts', match: (p: string) => p === '/alerts' },
  { href: '/jobs', label: 'Jobs & backups', match: (p: string) => p === '/jobs' },
  { href: '/storage', label: 'Storage', match: (p: string) => p === '/storage' },
  { href: '/requests', label: 'Requests', match: (p: string) => p === '/requests' },
];

const LIVE_TEXT: Record<LiveState, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};

const LIVE_TITLE: Record<LiveState, string> = {
  connecting: 'Opening the live connection to the gateway',
  live: 'Changes appear on this page as they happen',
  reconnecting: 'The live connection dropped; trying again. The page may be out of date.',
  offline: 'No live connection; the page shows what it loaded and retries every few seconds.',
};

/** The number of firing alerts, kept current by the live `alert` events. */
function FiringCount() {
  const firing = useApi<{ items: unknown[] }>('/alerts?state=firing', { refreshMs: 60_000 });
  const reload = useCoalesced(firing.reload);
  useLiveEvent('alert', reload);
  useLiveEvent('resync', reload);
  const n = firing.data?.items.length ?? 0;
  if (n === 0) return null;
  return (
    <span class="count" title={`${n} firing alert${n === 1 ? '' : 's'}`}>
      {n}
    </span>
  );
}

export function Layout(props: { children: ComponentChildren; onSignedOut: () => void }) {
  const session = useSession();
  const live = useLiveState();
  const { path } = useLocation();
  const [error, setError] = useState<string | undefined>();

  const signOut = async () => {
    try {
      await api('/session', { method: 'DELETE' });
    } catch (err) {
      setError(`Sign-out failed: ${messageOf(err)}`);
      return;
    }
    navigate('/sign-in', { replace: true });
    props.onSignedOut();
  };

  return (
    <div class="shell">
      <header class="top">
        <a class="brand" href="/files">
          <svg width="22" height="22" viewBox="0 0 16 16" aria-hidden="true">
            <path d="M1 10h14l-2 4H3z" fill="currentColor" />
            <path d="M7 2v7h1V2z" fill="currentColor" />
            <path d="M8 3l4 5H8z" fill="#e58a1f" />
          </svg>
          Ferry
        </a>
        <nav>
          {NAV.map((n) => (
            <a key={n.href} href={n.href} class={n.match(path) ? 'active' : undefined} aria-current={n.match(path) ? 'page' : undefined}>
              {n.label}
              {n.href === '/alerts' && <FiringCount />}
            </a>
          ))}
        </nav>
        <div class="who">
          <span class={`live live-${live}`} title={LIVE_TITLE[live]} data-live={live}>
            <span class="dot" />
            {LIVE_TEXT[live]}
          </span>
          {session && (
            <span class="user" title={`Signed in as ${session.name} (${session.role})`}>
              {session.name} <span class={`role role-${session.role}`}>{session.role}</span>
            </span>
          )}
          <button type="button" class="btn-small" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      {error && (
        <div class="error-box page-error" role="alert">
          {error}
        </div>
      )}
      <main>{props.children}</main>
    </div>
  );
}
