import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.js';

export interface Fetched<T> {
  data: T | undefined;
  /** Date.now() when `data` arrived: ages the server computed grow from there, whatever this clock says. */
  receivedAt: number;
  error: unknown;
  loading: boolean;
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
  const [loading, setLoading] = useState(path !== null);
  const [tick, setTick] = useState(0);
  const lastPath = useRef<string | null>(null);

  useEffect(() => {
    if (path === null) return;
    const controller = new AbortController();
    // A new path starts blank; a reload of the same path keeps what is shown.
    if (lastPath.current !== path) setDataState(undefined);
    lastPath.current = path;
    setLoading(true);
    api<T>(path, { signal: controller.signal }).then(
      (value) => {
        setDataState(value);
        setReceivedAt(Date.now());
        setError(undefined);
        setLoading(false);
      },
      (err: unknown) => {
        if (controller.signal.aborted) return;
        setError(err);
        setLoading(false);
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
  return { data, receivedAt, error, loading, reload, setData };
}

/** The current time, refreshed every `everyMs`, so "3 min ago" stays true on an open page. */
export function useNow(everyMs = 15_000): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(id);
  }, [everyMs]);
  return now;
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
