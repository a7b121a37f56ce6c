import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { formatDuration, formatTime, parseTime } from '../format.js';
import { useApi, useCoalesced, useNow, useTitle } from '../hooks.js';
import { useLiveEvent } from '../live.js';
import { setQuery, useLocation } from '../router.js';
import { useCan } from '../session.js';
import { Age, Badge, Empty, ErrorBox, ListFooter, Loading, Notice, PageHeader } from '../ui/common.js';
import { itemsOf } from './components.js';

/** GET /alerts: one alert, as the monitor keeps it. */
interface AlertItem {
  id: number;
  fingerprint: string;
  rule: string;
  status: 'firing' | 'resolved';
  summary: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string | null;
  updatedAt: string;
  silenced: boolean;
  /** `silence:<id>` or `inhibited:<fingerprint>` while left out of notifications. */
  mutedBy: string | null;
}

export interface Matcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual: boolean;
}

interface SilenceItem {
  id: string;
  matchers: Matcher[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
  createdAt?: string;
  state?: 'pending' | 'active' | 'expired';
}

const STATES = [
  { value: 'firing', label: 'Firing' },
  { value: 'resolved', label: 'Past' },
  { value: 'all', label: 'All' },
] as const;

const DURATIONS = [
  { value: '1h', label: '1 hour' },
  { value: '4h', label: '4 hours' },
  { value: '1d', label: '1 day' },
  { value: 'custom', label: 'Custom' },
] as const;

/** The alert's labels as matchers, alertname first; all but `severity` are ticked to start with. */
function labelMatchers(a: AlertItem): Matcher[] {
  return Object.entries(a.labels)
    .sort(([x], [y]) => (x === 'alertname' ? -1 : y === 'alertname' ? 1 : x.localeCompare(y)))
    .map(([name, value]) => ({ name, value, isRegex: false, isEqual: true }));
}

const SEVERITY_ORDER: Record<string, number> = { critical: 0, warning: 1, info: 2 };

/** Firing alerts by severity, then newest; past ones newest first. */
function byUrgency(a: AlertItem, b: AlertItem): number {
  if (a.status !== b.status) return a.status === 'firing' ? -1 : 1;
  const s = (SEVERITY_ORDER[a.labels.severity ?? ''] ?? 3) - (SEVERITY_ORDER[b.labels.severity ?? ''] ?? 3);
  if (a.status === 'firing' && s !== 0) return s;
  return (parseTime(b.startsAt) ?? 0) - (parseTime(a.startsAt) ?? 0);
}

/** `instrument=~"ms.*"`, as Alertmanager and the gateway write matchers. */
function formatMatcher(m: Matcher): string {
  const op = m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!=';
  return `${m.name}${op}${JSON.stringify(m.value)}`;
}

function alertName(a: AlertItem): string {
  return a.labels.alertname ?? a.rule ?? 'alert';
}

export function AlertsPage() {
  const loc = useLocation();
  const state = STATES.some((s) => s.value === loc.query.get('state')) ? loc.query.get('state')! : 'firing';
  const alerts = useApi<unknown>(`/alerts?state=${state}`, { refreshMs: 60_000 });
  const silences = useApi<unknown>('/silences', { refreshMs: 60_000 });
  const canOperate = useCan('operator');
  const [silencing, setSilencing] = useState<AlertItem | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  const [actionError, setActionError] = useState<unknown>();
  // Pages after the first (which refreshes by itself), fetched by "Load more".
  const [more, setMore] = useState<{ state: string; items: AlertItem[]; next: string | null } | undefined>();
  const [loadingMore, setLoadingMore] = useState(false);

  useTitle('Alerts · Ferry');
  const reloadAlerts = useCoalesced(alerts.reload);
  useLiveEvent('alert', reloadAlerts);
  useLiveEvent('resync', reloadAlerts);

  const expire = async (s: SilenceItem) => {
    setActionError(undefined);
    try {
      await api(`/silences/${encodeURIComponent(s.id)}`, { method: 'DELETE' });
      setNotice(`Silence ${s.matchers.map(formatMatcher).join(', ')} ended.`);
      silences.reload();
      alerts.reload();
    } catch (err) {
      setActionError(err);
    }
  };

  const extra = more?.state === state ? more : undefined;
  const firstNext = (alerts.data as { nextCursor?: string | null } | undefined)?.nextCursor ?? null;
  const next = extra ? extra.next : firstNext;
  const loadMore = async () => {
    if (!next) return;
    setLoadingMore(true);
    try {
      const page = await api<{ items: AlertItem[]; nextCursor: string | null }>(`/alerts?state=${state}&cursor=${encodeURIComponent(next)}`);
      setMore({ state, items: [...(extra?.items ?? []), ...page.items], next: page.nextCursor });
      setActionError(undefined);
    } catch (err) {
      setActionError(err);
    } finally {
      setLoadingMore(false);
    }
  };

  const seen = new Set<number>();
  const items = [...itemsOf<AlertItem>(alerts.data), ...(extra?.items ?? [])]
    .filter((a) => {
      if (seen.has(a.id)) return false;
      seen.add(a.id);
      return true;
    })
    .sort(byUrgency);
  const active = itemsOf<SilenceItem>(silences.data).filter((s) => (parseTime(s.endsAt) ?? 0) > Date.now());

  return (
    <div class="page">
      <PageHeader title="Alerts" sub="What the monitor found wrong, and what is silenced.">
        <div class="tabs" role="tablist">
          {STATES.map((s) => (
            <a
              key={s.value}
              role="tab"
              aria-selected={state === s.value}
              class={state === s.value ? 'tab active' : 'tab'}
              href={`/alerts?state=${s.value}`}
              onClick={(e) => {
                e.preventDefault();
                setQuery({ state: s.value === 'firing' ? undefined : s.value }, { replace: false });
              }}
            >
              {s.label}
            </a>
          ))}
        </div>
      </PageHeader>
      {notice && <Notice>{notice}</Notice>}
      <ErrorBox error={actionError} />
      <ErrorBox error={alerts.error} title="Could not load alerts" />
      {silencing && (
        <SilenceForm
          alert={silencing}
          onCancel={() => setSilencing(undefined)}
          onDone={(message) => {
            setSilencing(undefined);
            setNotice(message);
            silences.reload();
            alerts.reload();
          }}
        />
      )}
      {alerts.data === undefined && !alerts.error ? (
        <Loading what="alerts" />
      ) : items.length === 0 ? (
        <Empty>{state === 'firing' ? 'Nothing is firing. All quiet.' : 'No alerts in this view.'}</Empty>
      ) : (
        <table class="alerts">
          <thead>
            <tr>
              <th>Severity</th>
              <th>Alert</th>
              <th>Labels</th>
              <th>Started</th>
              <th>Lasted</th>
              <th>Status</th>
              {canOperate && <th />}
            </tr>
          </thead>
          <tbody>
            {items.map((a) => (
              <AlertRow key={a.id} alert={a} canOperate={canOperate} onSilence={() => setSilencing(a)} />
            ))}
          </tbody>
        </table>
      )}
      {items.length > 0 && <ListFooter shown={items.length} noun="alert" more={next !== null} loading={loadingMore} onMore={() => void loadMore()} />}

      <section class="card">
        <h2>Silences in force</h2>
        <ErrorBox error={silences.error} title="Could not load silences" />
        {active.length === 0 ? (
          <Empty>No silences. Alerts reach their channels as usual.</Empty>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Matches</th>
                <th>Ends</th>
                <th>By</th>
                <th>Comment</th>
                {canOperate && <th />}
              </tr>
            </thead>
            <tbody>
              {active.map((s) => (
                <tr key={s.id} data-silence-id={s.id}>
                  <td>
                    {s.matchers.map((m) => (
                      <code key={formatMatcher(m)} class="chip">
                        {formatMatcher(m)}
                      </code>
                    ))}
                  </td>
                  <td title={formatTime(s.endsAt)}>
                    <Age at={s.endsAt} />
                  </td>
                  <td>{s.createdBy}</td>
                  <td>{s.comment}</td>
                  {canOperate && (
                    <td>
                      <button type="button" class="btn-small" onClick={() => void expire(s)}>
                        End now
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

function AlertRow(props: { alert: AlertItem; canOperate: boolean; onSilence: () => void }) {
  const { alert: a } = props;
  const now = useNow();
  const start = parseTime(a.startsAt) ?? now;
  const end = a.status === 'resolved' ? (parseTime(a.endsAt) ?? now) : now;
  const muted = a.mutedBy ?? (a.silenced ? 'silence' : null);
  const labels = Object.entries(a.labels).filter(([k]) => k !== 'alertname' && k !== 'severity');
  return (
    <tr class={`alert-${a.status}`} data-alert={alertName(a)}>
      <td>
        <Badge status={a.labels.severity ?? 'warning'} />
      </td>
      <td>
        <strong>{alertName(a)}</strong>
        {(a.summary || a.annotations.summary) && <div>{a.summary || a.annotations.summary}</div>}
        {a.annotations.description && <div class="muted small">{a.annotations.description}</div>}
      </td>
      <td>
        {labels.map(([k, v]) => (
          <code key={k} class="chip">
            {k}={v}
          </code>
        ))}
      </td>
      <td class="nowrap">
        <Age at={a.startsAt} />
      </td>
      <td class="nowrap">{formatDuration(Math.round((end - start) / 60_000) * 60_000 || end - start)}</td>
      <td>
        <Badge status={a.status} />
        {muted && (
          <span class="chip muted-chip" title={muted}>
            {muted.startsWith('silence') ? 'silenced' : 'inhibited'}
          </span>
        )}
      </td>
      {props.canOperate && (
        <td>
          {a.status === 'firing' && !muted && (
            <button type="button" class="btn-small" onClick={props.onSilence}>
              Silence…
            </button>
          )}
        </td>
      )}
    </tr>
  );
}

/** A local datetime-local value for `t`. */
function localInput(t: number): string {
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function SilenceForm(props: { alert: AlertItem; onCancel: () => void; onDone: (message: string) => void }) {
  const all = labelMatchers(props.alert);
  const [left, setLeft] = useState<ReadonlySet<string>>(() => new Set(['severity']));
  const [duration, setDuration] = useState<(typeof DURATIONS)[number]['value']>('1h');
  const [until, setUntil] = useState(() => localInput(Date.now() + 2 * 3_600_000));
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const ref = useRef<HTMLFormElement>(null);
  const matchers = all.filter((m) => !left.has(m.name));

  useEffect(() => {
    ref.current?.scrollIntoView({ block: 'nearest' });
    ref.current?.querySelector<HTMLInputElement>('input[name=comment]')?.focus({ preventScroll: true });
  }, []);

  const toggle = (name: string) =>
    setLeft((old) => {
      const next = new Set(old);
      if (!next.delete(name)) next.add(name);
      return next;
    });

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      // A preset is sent as a duration, so the gateway's clock decides when it ends.
      let timing: { duration: string } | { endsAt: string };
      if (duration === 'custom') {
        const end = new Date(until);
        if (Number.isNaN(end.getTime()) || end.getTime() <= Date.now()) throw new Error('the silence must end in the future: pick a later time');
        timing = { endsAt: end.toISOString() };
      } else {
        timing = { duration };
      }
      const silence = await api<SilenceItem>('/silences', { method: 'POST', body: { matchers, ...timing, comment: comment.trim() } });
      props.onDone(`Silenced ${alertName(props.alert)} until ${formatTime(silence.endsAt)}.`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form ref={ref} class="card silence-form" onSubmit={(e) => void submit(e)} aria-label="Silence alert">
      <h2>Silence {alertName(props.alert)}</h2>
      <p class="muted">Alerts matching every ticked label stay out of Slack and other channels until the silence ends. They still show here.</p>
      <fieldset>
        <legend>Matches</legend>
        {all.map((m) => {
          const on = !left.has(m.name);
          return (
            <label key={m.name} class="check" title={on ? 'Untick to match whatever this label says' : 'Tick to match only this value'}>
              <input type="checkbox" checked={on} disabled={on && matchers.length === 1} onChange={() => toggle(m.name)} />
              <code>{formatMatcher(m)}</code>
            </label>
          );
        })}
      </fieldset>
      <fieldset>
        <legend>For</legend>
        <div class="durations">
          {DURATIONS.map((d) => (
            <label key={d.value} class="radio">
              <input type="radio" name="duration" value={d.value} checked={duration === d.value} onChange={() => setDuration(d.value)} />
              {d.label}
            </label>
          ))}
          {duration === 'custom' && (
            <label class="inline">
              until <input type="datetime-local" name="until" value={until} min={localInput(Date.now())} onInput={(e) => setUntil(e.currentTarget.value)} required />
            </label>
          )}
        </div>
      </fieldset>
      <label class="block">
        <span>Comment</span>
        <input type="text" name="comment" placeholder="Why, e.g. disk being replaced, ticket #123" value={comment} onInput={(e) => setComment(e.currentTarget.value)} required maxLength={500} />
      </label>
      <ErrorBox error={error} title="Could not silence" />
      <div class="form-actions">
        <button type="submit" class="primary" disabled={busy || comment.trim() === ''}>
          {busy ? 'Silencing…' : 'Silence'}
        </button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
