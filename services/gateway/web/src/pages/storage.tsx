import { formatBytes, formatCount, parseTime } from '../format.js';
import { useApi, useTitle } from '../hooks.js';
import { setQuery, useLocation } from '../router.js';
import { Chart, type Series } from '../ui/chart.js';
import { Age, Empty, ErrorBox, Loading, PageHeader } from '../ui/common.js';
import { itemsOf } from './components.js';

/** GET /zones; where a zone lives is shown to admins only. */
interface ZoneItem {
  name: string;
  kind: 's3' | 'local';
  servedHere: boolean;
  updatedAt: string | null;
  bucket?: string | null;
  endpoint?: string | null;
  region?: string | null;
  prefix?: string;
  dir?: string | null;
  reportedBy?: string | null;
}

interface DayCount {
  /** UTC date, YYYY-MM-DD. */
  day: string;
  files: number;
  bytes: number;
}

/** GET /usage?days=: what each zone holds over time and what was stored each day. */
interface UsageAnswer {
  days: number;
  from: string;
  to: string;
  totals: { zone: string; files: number; bytes: number }[];
  perZone: { zone: string; days: (DayCount & { totalFiles: number; totalBytes: number })[] }[];
  uploads: DayCount[];
}

const RANGES = [7, 30, 90, 365];

function dayX(day: string): number {
  return parseTime(`${day}T00:00:00Z`) ?? 0;
}

/** Days are UTC dates; label them as such, not shifted into the local zone. */
function dayLabel(x: number): string {
  return new Date(x).toLocaleDateString('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });
}

/** The running total per zone at the end of each day. */
function zoneSeries(usage: UsageAnswer, what: 'totalBytes' | 'totalFiles'): Series[] {
  return [...usage.perZone]
    .sort((a, b) => a.zone.localeCompare(b.zone))
    .map((z) => ({ name: z.zone, points: z.days.map((d) => ({ x: dayX(d.day), y: d[what] })) }));
}

export function StoragePage() {
  const loc = useLocation();
  const days = RANGES.includes(Number(loc.query.get('days'))) ? Number(loc.query.get('days')) : 30;
  const zones = useApi<unknown>('/zones');
  const usage = useApi<UsageAnswer>(`/usage?days=${days}`, { refreshMs: 300_000 });

  useTitle('Storage · Ferry');

  const u = usage.data;
  const uploads = u?.uploads ?? [];
  const uploadSeries: Series[] = [{ name: 'files stored', points: uploads.map((d) => ({ x: dayX(d.day), y: d.files })) }];
  const totalUploads = uploads.reduce((n, d) => n + d.files, 0);
  const totalUploadBytes = uploads.reduce((n, d) => n + d.bytes, 0);
  const totals = new Map((u?.totals ?? []).map((t) => [t.zone, t]));

  return (
    <div class="page">
      <PageHeader title="Storage" sub="What each zone holds and how fast it grows.">
        <div class="tabs">
          {RANGES.map((d) => (
            <a
              key={d}
              class={d === days ? 'tab active' : 'tab'}
              href={`/storage?days=${d}`}
              onClick={(e) => {
                e.preventDefault();
                setQuery({ days: d === 30 ? undefined : String(d) }, { replace: false });
              }}
            >
              {d === 365 ? '1 year' : `${d} days`}
            </a>
          ))}
        </div>
      </PageHeader>

      <section class="card">
        <h2>Zones</h2>
        <ErrorBox error={zones.error} title="Could not load zones" />
        {zones.data === undefined && !zones.error ? (
          <Loading what="zones" />
        ) : itemsOf<ZoneItem>(zones.data).length === 0 ? (
          <Empty>No zone reported yet. Uploaders report their zones in their heartbeats.</Empty>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Zone</th>
                <th>Kind</th>
                <th>Where</th>
                <th class="num">Files</th>
                <th class="num">Stored</th>
                <th>Served here</th>
                <th>Reported</th>
              </tr>
            </thead>
            <tbody>
              {itemsOf<ZoneItem>(zones.data).map((z) => (
                <tr key={z.name}>
                  <td>
                    <strong>{z.name}</strong>
                  </td>
                  <td>{z.kind}</td>
                  <td>
                    {z.bucket === undefined && z.dir === undefined ? (
                      <span class="muted" title="Shown to admins only">hidden</span>
                    ) : (
                      <code class="small">
                        {z.kind === 'local' ? z.dir : `${z.endpoint ? `${z.endpoint.replace(/^https?:\/\//, '')} ` : ''}${z.bucket ?? ''}`}
                        {z.prefix ? `/${z.prefix}` : ''}
                      </code>
                    )}
                  </td>
                  <td class="num">{formatCount(totals.get(z.name)?.files ?? 0)}</td>
                  <td class="num">{formatBytes(totals.get(z.name)?.bytes ?? 0)}</td>
                  <td>{z.servedHere ? 'yes' : <span class="muted" title="This gateway has no credentials for it: downloads from it fail here">no</span>}</td>
                  <td>
                    {z.reportedBy && <span class="muted small">{z.reportedBy} · </span>}
                    <Age at={z.updatedAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <ErrorBox error={usage.error} title="Could not load usage" />
      {!u ? (
        !usage.error && <Loading what="usage" />
      ) : (
        <div class="chart-grid">
          <section class="card">
            <h2>Bytes stored per zone</h2>
            <Chart kind="line" label="Bytes stored per zone" series={zoneSeries(u, 'totalBytes')} yFormat={formatBytes} bytes xFormat={dayLabel} />
          </section>
          <section class="card">
            <h2>Files stored per zone</h2>
            <Chart kind="line" label="Files stored per zone" series={zoneSeries(u, 'totalFiles')} yFormat={formatCount} xFormat={dayLabel} />
          </section>
          <section class="card wide">
            <h2>
              Uploads per day
              <span class="muted small">
                {' '}
                · {formatCount(totalUploads)} files{totalUploadBytes > 0 ? `, ${formatBytes(totalUploadBytes)}` : ''} in {days} days
              </span>
            </h2>
            <Chart kind="bar" label="Uploads per day" series={uploadSeries} yFormat={formatCount} xFormat={dayLabel} />
          </section>
        </div>
      )}
    </div>
  );
}
