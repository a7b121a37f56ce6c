import { formatCount, parseTime } from '../format.js';
import { useApi, useTitle } from '../hooks.js';
import { setQuery, useLocation } from '../router.js';
import { Chart, type Series } from '../ui/chart.js';
import { Empty, ErrorBox, Loading, PageHeader } from '../ui/common.js';

interface Counts {
  count: number;
  clientErrors: number;
  serverErrors: number;
  avgMs: number;
}

/** GET /stats/requests?hours=: the gateway's answers counted per hour, route and client. */
interface RequestStatsAnswer {
  hours: number;
  from: string;
  to: string;
  total: Counts;
  hourly: ({ hour: string } & Counts)[];
  routes: ({ method: string; route: string } & Counts)[];
  clients: ({ client: string } & Counts)[];
  failures: { method: string; route: string; status: number; client: string; count: number }[];
}

const RANGES = [6, 24, 72, 168];

function hourLabel(t: number): string {
  const d = new Date(t);
  return `${d.toLocaleDateString('en-US', { month: 'short', day: 'numeric' })} ${String(d.getHours()).padStart(2, '0')}h`;
}

export function RequestsPage() {
  const loc = useLocation();
  const hours = RANGES.includes(Number(loc.query.get('hours'))) ? Number(loc.query.get('hours')) : 24;
  const stats = useApi<RequestStatsAnswer>(`/stats/requests?hours=${hours}`, { refreshMs: 60_000 });

  useTitle('Requests · Ferry');

  const d = stats.data;
  // The API lists hours that had requests; the axis shows every hour of the range.
  const counted = new Map((d?.hourly ?? []).map((h) => [parseTime(h.hour) ?? 0, h]));
  const hourly: RequestStatsAnswer['hourly'] = [];
  if (d) {
    for (let t = parseTime(d.from) ?? 0; t < (parseTime(d.to) ?? 0); t += 3_600_000) {
      hourly.push(counted.get(t) ?? { hour: new Date(t).toISOString(), count: 0, clientErrors: 0, serverErrors: 0, avgMs: 0 });
    }
  }
  const series: Series[] = [
    { name: 'answered', color: '#2f9e6e', points: hourly.map((h) => ({ x: parseTime(h.hour) ?? 0, y: h.count - h.clientErrors - h.serverErrors })) },
    { name: '4xx', color: '#e07b1a', points: hourly.map((h) => ({ x: parseTime(h.hour) ?? 0, y: h.clientErrors })) },
    { name: '5xx', color: '#c0392b', points: hourly.map((h) => ({ x: parseTime(h.hour) ?? 0, y: h.serverErrors })) },
  ];
  const errorsFirst = <T extends Counts>(a: T, b: T) => b.serverErrors - a.serverErrors || b.clientErrors - a.clientErrors || b.count - a.count;

  return (
    <div class="page">
      <PageHeader title="Requests" sub="Answers of this gateway by route, status and client: which routes fail, for whom.">
        <div class="tabs">
          {RANGES.map((h) => (
            <a
              key={h}
              class={h === hours ? 'tab active' : 'tab'}
              href={`/requests?hours=${h}`}
              onClick={(e) => {
                e.preventDefault();
                setQuery({ hours: h === 24 ? undefined : String(h) }, { replace: false });
              }}
            >
              {h < 48 ? `${h} h` : `${h / 24} days`}
            </a>
          ))}
        </div>
      </PageHeader>
      <ErrorBox error={stats.error} title="Could not load request statistics" />
      {!d ? (
        !stats.error && <Loading what="statistics" />
      ) : (
        <>
          <div class="stat-tiles">
            <Tile label="Requests" value={formatCount(d.total.count)} />
            <Tile label="Client errors (4xx)" value={formatCount(d.total.clientErrors)} level={d.total.clientErrors > 0 ? 'warn' : undefined} />
            <Tile label="Server errors (5xx)" value={formatCount(d.total.serverErrors)} level={d.total.serverErrors > 0 ? 'crit' : undefined} />
            <Tile label="Average time" value={`${Math.round(d.total.avgMs)} ms`} />
          </div>
          <section class="card">
            <h2>Requests per hour</h2>
            <Chart kind="bar" label="Requests per hour" series={series} yFormat={formatCount} xFormat={hourLabel} />
          </section>
          <div class="two-col">
            <section class="card">
              <h2>By route</h2>
              {d.routes.length === 0 ? (
                <Empty>No requests counted in this period.</Empty>
              ) : (
                <table>
                  <thead>
                    <tr>
                      <th>Route</th>
                      <th class="num">Requests</th>
                      <th class="num">4xx</th>
                      <th class="num">5xx</th>
                      <th class="num">Avg</th>
                    </tr>
                  </thead>
                  <tbody>
                    {[...d.routes].sort(errorsFirst).map((r) => (
                      <tr key={`${r.method} ${r.route}`}>
                        <td>
                          <code>
                            {r.method} {r.route}
                          </code>
                        </td>
                        <CountCells c={r} />
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>
            <section class="card">
              <h2>By client</h2>
              {d.clients.length === 0 ? (
                <Empty>No clients in this period.</Empty>
              ) : (
                <table>
                  <thead>
                    <tr>
                      <th>Client</th>
                      <th class="num">Requests</th>
                      <th class="num">4xx</th>
                      <th class="num">5xx</th>
                      <th class="num">Avg</th>
                    </tr>
                  </thead>
                  <tbody>
                    {[...d.clients].sort(errorsFirst).map((c) => (
                      <tr key={c.client}>
                        <td>{c.client}</td>
                        <CountCells c={c} />
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>
          </div>
          <section class="card">
            <h2>What failed, for whom</h2>
            {d.failures.length === 0 ? (
              <Empty>No failed requests in this period.</Empty>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th>Status</th>
                    <th>Route</th>
                    <th>Client</th>
                    <th class="num">Times</th>
                  </tr>
                </thead>
                <tbody>
                  {d.failures.map((f) => (
                    <tr key={`${f.status} ${f.method} ${f.route} ${f.client}`}>
                      <td class={f.status >= 500 ? 'crit-text' : 'warn-text'}>{f.status}</td>
                      <td>
                        <code>
                          {f.method} {f.route}
                        </code>
                      </td>
                      <td>{f.client}</td>
                      <td class="num">{formatCount(f.count)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        </>
      )}
    </div>
  );
}

function CountCells(props: { c: Counts }) {
  const { c } = props;
  return (
    <>
      <td class="num">{formatCount(c.count)}</td>
      <td class={`num ${c.clientErrors ? 'warn-text' : 'muted'}`}>{formatCount(c.clientErrors)}</td>
      <td class={`num ${c.serverErrors ? 'crit-text' : 'muted'}`}>{formatCount(c.serverErrors)}</td>
      <td class="num">{Math.round(c.avgMs)} ms</td>
    </>
  );
}

function Tile(props: { label: string; value: string; level?: 'warn' | 'crit' | undefined }) {
  return (
    <div class={`card tile ${props.level ? `tile-${props.level}` : ''}`}>
      <div class="tile-value">{props.value}</div>
      <div class="tile-label">{props.label}</div>
    </div>
  );
}
