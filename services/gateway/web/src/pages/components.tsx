import { FILE_STATUSES, type FileStatus } from '../api.js';
import { formatBytes, formatDetail, formatDuration, formatTime, parseTime } from '../format.js';
import { useApi, useNow, useTitle } from '../hooks.js';
import { useLiveEvent } from '../live.js';
import { Age, Empty, ErrorBox, Loading, PageHeader, UsageBar } from '../ui/common.js';

/** The list of a collection answer (`{items}`), or nothing while loading. */
export function itemsOf<T>(data: unknown): T[] {
  if (Array.isArray(data)) return data as T[];
  if (data && typeof data === 'object' && Array.isArray((data as { items?: unknown }).items)) return (data as { items: T[] }).items;
  return [];
}

interface WatcherBeat {
  instance: string;
  lastSeenAt: string;
  ageMs: number;
  stale: boolean;
}

/** GET /instruments: files per status and the freshest watcher heartbeat. */
export interface InstrumentSummary {
  instrument: string;
  counts: Partial<Record<FileStatus, number>>;
  total: number;
  lastDetectedAt: string | null;
  lastHeartbeatAt: string | null;
  heartbeatAgeMs: number | null;
  /** Null when no watcher reports this instrument. */
  stale: boolean | null;
  watchers: WatcherBeat[];
}

/** When a volume is expected to be full (see src/domain/disk-forecast.ts). */
export interface DiskForecast {
  /** Negative while free space shrinks. */
  freeBytesPerHour: number;
  /** When the volume would be full at the current rate; null when it is not filling. */
  fullAt: string | null;
  samples: number;
  /** The span of the samples the trend was fitted to. */
  spanMs: number;
}

interface Disk {
  path: string;
  freeBytes: number;
  totalBytes: number;
  usedFraction?: number | null;
  /** Null until enough samples over enough time exist to trust a trend. */
  forecast: DiskForecast | null;
}

interface ComponentItem {
  service: string;
  instance: string;
  version: string;
  startedAt: string;
  lastSeenAt: string;
  intervalMs: number;
  /** Age of the last heartbeat when the server answered. */
  ageMs: number;
  staleAfterMs: number;
  stale: boolean;
  instrument: string | null;
  disks: Disk[];
  details: Record<string, string | number | boolean | null>;
}

const WAITING: readonly FileStatus[] = FILE_STATUSES.filter((s) => s !== 'done');

type Level = 'ok' | 'warn' | 'crit';

/**
 * Green while beats arrive on time, amber once one is missed, red when the server
 * calls it stale (three missed). `ageMs` is the server's figure; the time since the answer is added
 * so a browser whose clock is off still colours correctly.
 */
function heartbeatLevel(b: { ageMs: number; stale: boolean | null; intervalMs?: number; staleAfterMs?: number }, sinceAnswerMs: number): Level {
  const age = b.ageMs + Math.max(0, sinceAnswerMs);
  const interval = b.intervalMs ?? 30_000;
  if (b.stale || (b.staleAfterMs !== undefined && age > b.staleAfterMs)) return 'crit';
  if (age > interval * 1.5) return 'warn';
  return 'ok';
}

function ageText(ms: number): string {
  return ms < 10_000 ? 'just now' : `${formatDuration(Math.round(ms / 1000) * 1000)} ago`;
}

export function ComponentsPage() {
  const instruments = useApi<{ items: InstrumentSummary[] }>('/instruments', { refreshMs: 30_000 });
  const components = useApi<{ items: ComponentItem[] }>('/components', { refreshMs: 15_000 });
  useLiveEvent('resync', () => components.reload());

  useTitle('Instruments & components · Ferry');

  return (
    <div class="page">
      <PageHeader title="Instruments & components" sub="Who is alive, how full their disks are, and where files wait." />
      <section class="card">
        <h2>Instruments</h2>
        <ErrorBox error={instruments.error} title="Could not load instruments" />
        <p class="fine legend-line">
          Pile-up: files on their way, per status —
          {WAITING.map((s) => (
            <span key={s}>
              {' '}
              <span class={`pile-bar badge-${s} swatch`} /> {s}
            </span>
          ))}
        </p>
        {instruments.data === undefined && !instruments.error ? (
          <Loading what="instruments" />
        ) : (
          <Instruments items={itemsOf<InstrumentSummary>(instruments.data)} receivedAt={instruments.receivedAt} />
        )}
      </section>
      <section>
        <h2 class="section-title">Components</h2>
        <ErrorBox error={components.error} title="Could not load components" />
        {components.data === undefined && !components.error ? (
          <Loading what="components" />
        ) : (
          <Components items={itemsOf<ComponentItem>(components.data)} receivedAt={components.receivedAt} />
        )}
      </section>
    </div>
  );
}

function Instruments(props: { items: InstrumentSummary[]; receivedAt: number }) {
  const now = useNow(5000);
  if (props.items.length === 0) return <Empty>No instrument has reported a file yet.</Empty>;
  return (
    <table class="instruments">
      <thead>
        <tr>
          <th>Instrument</th>
          <th>Watcher heartbeat</th>
          <th>Last file</th>
          {WAITING.map((s) => (
            <th key={s} class="num">
              {s}
            </th>
          ))}
          <th class="num">done</th>
          <th class="pile">Pile-up</th>
        </tr>
      </thead>
      <tbody>
        {props.items.map((i) => {
          const name = i.instrument;
          const counts = i.counts;
          const max = Math.max(1, ...WAITING.map((s) => counts[s] ?? 0));
          const waiting = WAITING.filter((s) => s !== 'failed').reduce((n, s) => n + (counts[s] ?? 0), 0);
          const level = i.heartbeatAgeMs === null ? undefined : heartbeatLevel({ ageMs: i.heartbeatAgeMs, stale: i.stale }, now - props.receivedAt);
          return (
            <tr key={name} data-instrument={name}>
              <td>
                <a href={`/files?instrument=${encodeURIComponent(name)}`}>
                  <strong>{name}</strong>
                </a>
              </td>
              <td>
                {level === undefined || i.heartbeatAgeMs === null ? (
                  <span class="muted">no watcher reports it</span>
                ) : (
                  <span class={`heartbeat hb-${level}`} title={`${i.watchers.map((w) => w.instance).join(', ')}: last beat ${formatTime(i.lastHeartbeatAt)}`}>
                    <span class="dot" />
                    {ageText(i.heartbeatAgeMs + now - props.receivedAt)}
                  </span>
                )}
              </td>
              <td>
                <Age at={i.lastDetectedAt} />
              </td>
              {WAITING.map((s) => {
                const n = counts[s] ?? 0;
                return (
                  <td key={s} class={`num ${n > 0 && s === 'failed' ? 'crit-text' : ''}`}>
                    {n > 0 ? <a href={`/files?instrument=${encodeURIComponent(name)}&status=${s}`}>{n.toLocaleString('en-US')}</a> : <span class="muted">0</span>}
                  </td>
                );
              })}
              <td class="num">{(counts.done ?? 0).toLocaleString('en-US')}</td>
              <td class="pile" title={`${waiting} on the way, ${counts.failed ?? 0} failed`}>
                <div class="pile-bars">
                  {WAITING.map((s) => {
                    const n = counts[s] ?? 0;
                    return n > 0 ? <span key={s} class={`pile-bar badge-${s}`} style={{ width: `${(Math.max(0.04, n / max) * 100) / WAITING.length}%` }} title={`${s}: ${n}`} /> : null;
                  })}
                </div>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function Components(props: { items: ComponentItem[]; receivedAt: number }) {
  const now = useNow(5000);
  if (props.items.length === 0) return <Empty>No component has sent a heartbeat yet.</Empty>;
  const sorted = [...props.items].sort((a, b) => a.service.localeCompare(b.service) || a.instance.localeCompare(b.instance));
  return (
    <div class="component-grid">
      {sorted.map((c) => {
        const since = now - props.receivedAt;
        const level = heartbeatLevel(c, since);
        const details = Object.entries(c.details).filter(([k, v]) => v !== null && v !== '' && k !== 'instrument');
        return (
          <article key={`${c.service}/${c.instance}`} class={`card component hb-${level}`} data-component={`${c.service}/${c.instance}`}>
            <header>
              <h3>
                {c.service} <span class="muted">/ {c.instance}</span>
              </h3>
              <span
                class={`heartbeat hb-${level}`}
                data-level={level}
                title={`Last heartbeat ${formatTime(c.lastSeenAt)}; expected every ${formatDuration(c.intervalMs)}, stale after ${formatDuration(c.staleAfterMs)}`}
              >
                <span class="dot" />
                {ageText(c.ageMs + since)}
              </span>
            </header>
            <p class="meta">
              v{c.version}
              {c.instrument && <span> · instrument {c.instrument}</span>}
              <span> · up {formatDuration((parseTime(c.lastSeenAt) ?? 0) - (parseTime(c.startedAt) ?? 0))}</span>
              {level === 'crit' && <strong class="crit-text"> · not heard from</strong>}
            </p>
            {c.disks.map((d) => (
              <DiskBar key={d.path} disk={d} now={now} />
            ))}
            {details.length > 0 && (
              <dl class="details">
                {details.map(([k, v]) => (
                  <div key={k}>
                    <dt>{k}</dt>
                    <dd>{formatDetail(k, v, now)}</dd>
                  </div>
                ))}
              </dl>
            )}
          </article>
        );
      })}
    </div>
  );
}

function DiskBar(props: { disk: Disk; now: number }) {
  const { disk, now } = props;
  const used = disk.totalBytes - disk.freeBytes;
  const f = disk.forecast;
  const fullAt = f?.fullAt ?? null;
  const left = fullAt ? (parseTime(fullAt) ?? now) - now : undefined;
  const urgent = left !== undefined && left < 3 * 86_400_000;
  const fillRate = f ? -f.freeBytesPerHour : 0;
  let forecast: string;
  if (!f) forecast = 'No forecast yet: too few samples';
  else if (fullAt && left !== undefined) forecast = `Full in about ${formatDuration(Math.max(0, left))} (${formatTime(fullAt)}), filling at ${formatBytes(fillRate)}/h`;
  else if (fillRate < 0) forecast = `Not filling: ${formatBytes(-fillRate)}/h freed over the last ${formatDuration(f.spanMs)}`;
  else forecast = `Not filling over the last ${formatDuration(f.spanMs)}`;
  return (
    <div class="disk">
      <div class="disk-head">
        <code>{disk.path}</code>
        <span>
          <strong>{formatBytes(disk.freeBytes)}</strong> free of {formatBytes(disk.totalBytes)}
        </span>
      </div>
      <UsageBar used={used} total={disk.totalBytes} label={`${disk.path} used`} />
      <div class={`forecast ${urgent ? 'crit-text' : 'muted'}`} title={f ? `Fitted to ${f.samples} samples over ${formatDuration(f.spanMs)}` : undefined}>
        {forecast}
      </div>
    </div>
  );
}
