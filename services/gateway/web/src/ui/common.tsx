import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError } from '../api.js';
import { formatAge, formatTime } from '../format.js';
import { useNow } from '../hooks.js';

/** A coloured status word: the colour groups statuses as waiting, moving, fine, broken. */
export function Badge(props: { status: string | null | undefined; title?: string }) {
  const s = props.status ?? 'unknown';
  return (
    <span class={`badge badge-${s.replace(/[^a-z_-]/gi, '')}`} title={props.title}>
      {s}
    </span>
  );
}

/** An API error as a person should read it: what went wrong and, for a 400, each bad field. */
export function ErrorBox(props: { error: unknown; title?: string }) {
  const { error } = props;
  if (error === undefined || error === null) return null;
  const message = error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error);
  const status = error instanceof ApiError && error.status > 0 ? ` (${error.status})` : '';
  const issues = error instanceof ApiError ? error.issues : [];
  return (
    <div class="error-box" role="alert">
      <strong>{props.title ?? 'Something went wrong'}{status}:</strong> {message}
      {issues.length > 0 && (
        <ul>
          {issues.map((i, n) => (
            <li key={n}>
              <code>{i.param ?? i.path ?? '?'}</code> {i.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A short confirmation after an action. */
export function Notice(props: { children: ComponentChildren }) {
  return (
    <div class="notice" role="status">
      {props.children}
    </div>
  );
}

/** "3 min ago", with the exact local time on hover; refreshes by itself. */
export function Age(props: { at: string | null | undefined; class?: string }) {
  const now = useNow();
  if (!props.at) return <span class="muted">—</span>;
  return (
    <time class={props.class} dateTime={props.at} title={formatTime(props.at)}>
      {formatAge(props.at, now)}
    </time>
  );
}

/** Copies `value` to the clipboard and says so for a moment. */
export function CopyButton(props: { value: string; label?: string }) {
  const [done, setDone] = useState<'copied' | 'failed' | undefined>();
  const copy = () => {
    const finish = (d: 'copied' | 'failed') => {
      setDone(d);
      setTimeout(() => setDone(undefined), 1500);
    };
    // The clipboard API needs a secure context; the gateway may be served over plain HTTP on a LAN.
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(props.value).then(
        () => finish('copied'),
        () => finish(legacyCopy(props.value) ? 'copied' : 'failed'),
      );
    } else {
      finish(legacyCopy(props.value) ? 'copied' : 'failed');
    }
  };
  return (
    <button type="button" class="btn-small" onClick={copy} aria-label={`Copy ${props.label ?? 'value'}`}>
      {done === 'copied' ? 'Copied' : done === 'failed' ? 'Copy failed' : 'Copy'}
    </button>
  );
}

function legacyCopy(value: string): boolean {
  const area = document.createElement('textarea');
  area.value = value;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  let ok = false;
  try {
    // Deprecated but still the only way without a secure context.
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}

export function Loading(props: { what?: string }) {
  return <p class="loading">Loading{props.what ? ` ${props.what}` : ''}…</p>;
}

/** Under a list: how many rows are shown, and "Load more" while the API has a next page. */
export function ListFooter(props: { shown: number; noun: string; more: boolean; loading: boolean; onMore: () => void; children?: ComponentChildren }) {
  return (
    <div class="list-footer">
      <span class="muted">
        {props.shown.toLocaleString('en-US')} {props.noun}
        {props.shown === 1 ? '' : 's'} shown{props.more ? ', more below' : ''}
        {props.children}
      </span>
      {props.more && (
        <button type="button" onClick={props.onMore} disabled={props.loading}>
          {props.loading ? 'Loading…' : 'Load more'}
        </button>
      )}
    </div>
  );
}

export function Empty(props: { children: ComponentChildren }) {
  return <p class="empty">{props.children}</p>;
}

/** A page's title row, with optional actions on the right. */
export function PageHeader(props: { title: string; children?: ComponentChildren; sub?: ComponentChildren }) {
  return (
    <div class="page-header">
      <div>
        <h1>{props.title}</h1>
        {props.sub && <p class="sub">{props.sub}</p>}
      </div>
      {props.children && <div class="actions">{props.children}</div>}
    </div>
  );
}

/** A horizontal bar of `used` of `total`; turns amber and red as it fills. */
export function UsageBar(props: { used: number; total: number; label?: string; warnAt?: number; critAt?: number }) {
  const ratio = props.total > 0 ? Math.min(1, Math.max(0, props.used / props.total)) : 0;
  const level = ratio >= (props.critAt ?? 0.95) ? 'crit' : ratio >= (props.warnAt ?? 0.85) ? 'warn' : 'ok';
  return (
    <div class="usage-bar" role="meter" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(ratio * 100)} aria-label={props.label}>
      <div class={`usage-fill usage-${level}`} style={{ width: `${(ratio * 100).toFixed(1)}%` }} />
    </div>
  );
}
