import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.js';

interface Fetched<T> {
  data: T | undefined;
  /** Date.now() when `data` arrived: ages the server computed grow from there, whatever this clock says. */
  receivedAt: number;
  error: unknown;
  /** Fetches again, keeping the current data on screen meanwhile. */
  reload: () => void;
  /** Changes the data locally, e.g. from a live event. */
  setData: (update: (old: T | undefined) => T | undefined) => void;
}

/** GETs `path` (nothing when null) and refetches when it changes; stale answers are dropped. */
export function useApi<T>(path: string | null, options: { refreshMs?: number } = {}): Fetched<T> {
  const [data, setDataState] = useState<T | undefined>(undefined);
  const [receivedAt, setReceivedAt] = useState(0);
  const [error, setError] = useState<unknown>(undefined);
  const [tick, setTick] = useState(0);
  const lastPath = useRef<string | null>(null);

  useEffect(() => {
    if (path === null) return;
    const controller = new AbortController();
    // A new path starts blank; a reload of the same path keeps what is shown.
    if (lastPath.current !== path) setDataState(undefined);
    lastPath.current = path;
    api<T>(path, { signal: controller.signal }).then(
      (value) => {
        setDataState(value);
        setReceivedAt(Date.now());
        setError(undefined);
      },
      (err: unknown) => {
        if (controller.signal.aborted) return;
        setError(err);
      },
    );
    return () => controller.abort();
  }, [path, tick]);

  useEffect(() => {
    if (!options.refreshMs || path === null) return;
    const id = setInterval(() => {
      if (document.visibilityState === 'visible') setTick((t) => t + 1);
    }, options.refreshMs);
    return () => clearInterval(id);
  }, [options.refreshMs, path]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  const setData = useCallback((update: (old: T | undefined) => T | undefined) => setDataState(update), []);
  return { data, receivedAt, error, reload, setData };
}

/** One shared interval per period, however many components read the time. */
interface Ticker {
  listeners: Set<(now: number) => void>;
  id: ReturnType<typeof setInterval>;
}
const tickers = new Map<number, Ticker>();

/** Calls `listener` with the time every `everyMs`; the interval runs only while someone listens. */
function subscribeNow(everyMs: number, listener: (now: number) => void): () => void {
  let ticker = tickers.get(everyMs);
  if (!ticker) {
    const listeners = new Set<(now: number) => void>();
    const id = setInterval(() => {
      const now = Date.now();
      for (const l of listeners) l(now);
    }, everyMs);
    ticker = { listeners, id };
    tickers.set(everyMs, ticker);
  }
  const { listeners, id } = ticker;
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && tickers.get(everyMs)?.id === id) {
      clearInterval(id);
      tickers.delete(everyMs);
    }
  };
}

/** The current time, refreshed every `everyMs`, so "3 min ago" stays true on an open page. */
export function useNow(everyMs = 15_000): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => subscribeNow(everyMs, setNow), [everyMs]);
  return now;
}

/** Shows `title` in the browser tab, and again whenever it changes. */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title;
  }, [title]);
}

/** `value`, once it has stopped changing for `ms`. */
export function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const id = setTimeout(() => setV(value), ms);
    return () => clearTimeout(id);
  }, [value, ms]);
  return v;
}

/** `fn`, called at most once per `ms` burst: a flurry of live events costs one refetch. */
export function useCoalesced(fn: () => void, ms = 400): () => void {
  const ref = useRef(fn);
  ref.current = fn;
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  return useCallback(() => {
    if (timer.current !== undefined) return;
    timer.current = setTimeout(() => {
      timer.current = undefined;
      ref.current();
    }, ms);
  }, [ms]);
}
