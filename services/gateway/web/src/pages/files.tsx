import { useEffect, useRef, useState } from 'preact/hooks';
import { api, FILE_STATUSES, queryString, type FileItem, type Page } from '../api.js';
import { formatBytes, formatTime, parseTime } from '../format.js';
import { useApi, useDebounced, useTitle } from '../hooks.js';
import { useLiveEvent } from '../live.js';
import { setQuery, useLocation } from '../router.js';
import { Age, Badge, Empty, ErrorBox, ListFooter, Loading, PageHeader } from '../ui/common.js';
import { itemsOf, type InstrumentSummary } from './components.js';

const PAGE_SIZE = 50;

/** The filters of the files list: exactly what the URL's query holds. */
interface FileFilters {
  instrument?: string;
  status?: string;
  q?: string;
  since?: string;
  until?: string;
}

const FILTER_KEYS = ['instrument', 'status', 'q', 'since', 'until'] as const;

function filtersOf(query: URLSearchParams): FileFilters {
  const f: FileFilters = {};
  for (const k of FILTER_KEYS) {
    const v = query.get(k);
    if (v) f[k] = v;
  }
  return f;
}

/** The API's `until` is a date or time; a bare date from the picker means "through that day". */
function untilParam(until: string | undefined): string | undefined {
  if (!until) return undefined;
  if (/^\d{4}-\d{2}-\d{2}$/.test(until)) {
    const end = new Date(`${until}T00:00:00`);
    end.setDate(end.getDate() + 1);
    return end.toISOString();
  }
  return until;
}

function sinceParam(since: string | undefined): string | undefined {
  if (!since) return undefined;
  // A bare date is local midnight for the person choosing it, not UTC midnight.
  return /^\d{4}-\d{2}-\d{2}$/.test(since) ? new Date(`${since}T00:00:00`).toISOString() : since;
}

/** The query the API gets for these filters (dates turned into exact instants). */
function apiFilters(f: FileFilters): Record<string, string | undefined> {
  return { instrument: f.instrument, status: f.status, q: f.q, since: sinceParam(f.since), until: untilParam(f.until) };
}

/** Whether a file that changed live belongs in the list as filtered. */
function matches(item: FileItem, f: FileFilters): boolean {
  if (f.instrument && item.instrument !== f.instrument) return false;
  if (f.status && item.status !== f.status) return false;
  if (f.q && !item.path.toLowerCase().includes(f.q.toLowerCase())) return false;
  const at = parseTime(item.detectedAt) ?? 0;
  const since = parseTime(sinceParam(f.since));
  const until = parseTime(untilParam(f.until));
  if (since !== undefined && at < since) return false;
  if (until !== undefined && at >= until) return false;
  return true;
}

/** Newest first, as the API orders them: detection time, then id. */
function newerFirst(a: FileItem, b: FileItem): number {
  const d = (parseTime(b.detectedAt) ?? 0) - (parseTime(a.detectedAt) ?? 0);
  return d !== 0 ? d : a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

export function FilesPage() {
  const loc = useLocation();
  const filters = filtersOf(loc.query);
  const key = queryString(apiFilters(filters));

  const [items, setItems] = useState<FileItem[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);
  const [loadingMore, setLoadingMore] = useState(false);
  const [flash, setFlash] = useState<ReadonlySet<string>>(new Set());
  const [refresh, setRefresh] = useState(0);
  const filtersRef = useRef(filters);
  filtersRef.current = filters;

  useTitle('Files · Ferry');

  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    const sep = key ? '&' : '?';
    api<Page<FileItem>>(`/files${key}${sep}limit=${PAGE_SIZE}`, { signal: controller.signal }).then(
      (page) => {
        setItems(page.items);
        setNext(page.nextCursor);
        setError(undefined);
        setLoading(false);
      },
      (err: unknown) => {
        if (controller.signal.aborted) return;
        setError(err);
        setItems([]);
        setNext(null);
        setLoading(false);
      },
    );
    return () => controller.abort();
  }, [key, refresh]);

  const loadMore = async () => {
    if (!next) return;
    setLoadingMore(true);
    try {
      const sep = key ? '&' : '?';
      const page = await api<Page<FileItem>>(`/files${key}${sep}limit=${PAGE_SIZE}&cursor=${encodeURIComponent(next)}`);
      setItems((old) => {
        const seen = new Set(old.map((i) => i.id));
        return [...old, ...page.items.filter((i) => !seen.has(i.id))];
      });
      setNext(page.nextCursor);
      setError(undefined);
    } catch (err) {
      setError(err);
    } finally {
      setLoadingMore(false);
    }
  };

  useLiveEvent<FileItem>('file', (file) => {
    if (!file || typeof file.id !== 'string') return;
    setItems((old) => {
      const at = old.findIndex((i) => i.id === file.id);
      if (at >= 0) {
        // Shown already: change it in place, even if it no longer matches, so the change is visible.
        const copy = old.slice();
        copy[at] = { ...old[at]!, ...file };
        return copy;
      }
      if (!matches(file, filtersRef.current)) return old;
      // New to this view: insert it where it sorts, unless it falls past the last loaded page.
      const last = old[old.length - 1];
      if (next !== null && last && newerFirst(file, last) > 0) return old;
      return [...old, file].sort(newerFirst);
    });
    setFlash((old) => new Set(old).add(file.id));
    setTimeout(
      () =>
        setFlash((old) => {
          const copy = new Set(old);
          copy.delete(file.id);
          return copy;
        }),
      2500,
    );
  });
  // After a dropped connection, changes may have been missed: fetch the first page again.
  useLiveEvent('resync', () => setRefresh((r) => r + 1));

  const csv = `/api/v1/files${queryString({ ...apiFilters(filters), format: 'csv' })}`;
  const filtered = FILTER_KEYS.some((k) => filters[k]);

  return (
    <div class="page">
      <PageHeader title="Files" sub="Every acquisition the watchers found, newest first.">
        <a class="button" href={csv} download>
          Export CSV
        </a>
      </PageHeader>
      <Filters filters={filters} />
      <ErrorBox error={error} title="Could not load files" />
      {loading && items.length === 0 ? (
        <Loading what="files" />
      ) : items.length === 0 && !error ? (
        <Empty>{filtered ? 'No file matches these filters.' : 'No files yet. They appear here as soon as a watcher finds one.'}</Empty>
      ) : (
        <>
          <table class="files-table">
            <thead>
              <tr>
                <th>Status</th>
                <th>File</th>
                <th>Instrument</th>
                <th class="num">Size</th>
                <th>Detected</th>
                <th>Changed</th>
                <th>Zone</th>
              </tr>
            </thead>
            <tbody>
              {items.map((f) => (
                <tr key={f.id} class={flash.has(f.id) ? 'flash' : undefined} data-file-id={f.id}>
                  <td>
                    <Badge status={f.status} title={f.status === 'failed' ? `${f.failedStep ?? ''} ${f.error ?? ''}`.trim() : undefined} />
                  </td>
                  <td class="path">
                    <a href={`/files/${encodeURIComponent(f.id)}`} title={f.path}>
                      {f.path}
                    </a>
                    {f.status === 'failed' && f.error && <div class="row-error">{f.error}</div>}
                  </td>
                  <td>{f.instrument}</td>
                  <td class="num" title={`${f.size.toLocaleString('en-US')} bytes`}>
                    {formatBytes(f.size)}
                  </td>
                  <td>
                    <Age at={f.detectedAt} />
                  </td>
                  <td>
                    <Age at={f.updatedAt} />
                  </td>
                  <td>{f.zone ?? <span class="muted">—</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <ListFooter shown={items.length} noun="file" more={next !== null} loading={loadingMore} onMore={() => void loadMore()}>
            {loading && ' · refreshing…'}
          </ListFooter>
        </>
      )}
    </div>
  );
}

/** The filter bar; every change goes straight to the URL, which drives the list. */
function Filters(props: { filters: FileFilters }) {
  const { filters } = props;
  const instruments = useApi<unknown>('/instruments');
  const names = [...new Set([...itemsOf<InstrumentSummary>(instruments.data).map((i) => i.instrument), filters.instrument ?? ''])]
    .filter(Boolean)
    .sort();
  const [text, setText] = useState(filters.q ?? '');
  const debounced = useDebounced(text, 300);
  const typed = useRef(false);

  // Back/forward or "clear" changes the URL: follow it in the box.
  useEffect(() => {
    if (!typed.current) setText(filters.q ?? '');
  }, [filters.q]);
  useEffect(() => {
    if (!typed.current) return;
    typed.current = false;
    if ((filters.q ?? '') !== debounced.trim()) setQuery({ q: debounced.trim() || undefined });
  }, [debounced, filters.q]);

  const set = (k: keyof FileFilters, v: string) => setQuery({ [k]: v || undefined }, { replace: false });
  const any = FILTER_KEYS.some((k) => filters[k]);

  return (
    <form
      class="filters"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        typed.current = false;
        setQuery({ q: text.trim() || undefined }, { replace: false });
      }}
    >
      <label>
        <span>Search path</span>
        <input
          type="search"
          name="q"
          placeholder="part of a path, e.g. 2025-01 or sample"
          value={text}
          onInput={(e) => {
            typed.current = true;
            setText(e.currentTarget.value);
          }}
        />
      </label>
      <label>
        <span>Instrument</span>
        <select name="instrument" value={filters.instrument ?? ''} onChange={(e) => set('instrument', e.currentTarget.value)}>
          <option value="">All instruments</option>
          {names.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span>Status</span>
        <select name="status" value={filters.status ?? ''} onChange={(e) => set('status', e.currentTarget.value)}>
          <option value="">Any status</option>
          {FILE_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span>Detected from</span>
        <input type="date" name="since" value={filters.since ?? ''} max={filters.until} onChange={(e) => set('since', e.currentTarget.value)} />
      </label>
      <label>
        <span>through</span>
        <input type="date" name="until" value={filters.until ?? ''} min={filters.since} onChange={(e) => set('until', e.currentTarget.value)} />
      </label>
      <div class="filter-actions">
        <button type="submit">Search</button>
        {any && (
          <a class="button subtle" href="/files" title={`Clear ${Object.keys(filters).join(', ')}`}>
            Clear
          </a>
        )}
      </div>
      {filters.since && !/^\d{4}-\d{2}-\d{2}$/.test(filters.since) && <p class="fine">From {formatTime(filters.since)}</p>}
    </form>
  );
}
