// One Server-Sent Events connection to /api/v1/events for the whole page, shared by
// every view that wants live changes. The browser reconnects by itself after a drop;
// when the server refuses (the session ended) we retry slowly and say so.
import { useEffect, useRef, useState } from 'preact/hooks';

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'offline';

type Handler = (data: unknown) => void;

const handlers = new Map<string, Set<Handler>>();
const stateListeners = new Set<(s: LiveState) => void>();
let source: EventSource | undefined;
let state: LiveState = 'offline';
let retryTimer: ReturnType<typeof setTimeout> | undefined;
let wanted = false;
/** Connections opened so far; after the first, views refetch what they may have missed. */
let generation = 0;

/** Event types that are not the server's but this module's. */
const LOCAL = new Set(['resync']);

function emit(type: string, data: unknown): void {
  for (const h of handlers.get(type) ?? []) h(data);
}

function setState(next: LiveState): void {
  if (next === state) return;
  state = next;
  for (const l of stateListeners) l(next);
}

function attach(es: EventSource, type: string): void {
  es.addEventListener(type, (e) => {
    let data: unknown;
    try {
      data = JSON.parse((e as MessageEvent<string>).data);
    } catch {
      return; // not JSON: nothing a view could use
    }
    emit(type, data);
  });
}

function open(): void {
  clearTimeout(retryTimer);
  source?.close();
  setState(generation === 0 ? 'connecting' : 'reconnecting');
  const es = new EventSource('/api/v1/events', { withCredentials: true });
  source = es;
  es.onopen = () => {
    generation++;
    setState('live');
    // The gateway replays what a reconnecting client missed, but not across its own restart.
    if (generation > 1) emit('resync', undefined);
  };
  // Too much changed while away for a replay: views load afresh.
  es.addEventListener('reset', () => emit('resync', undefined));
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) {
      // Refused (401, 5xx or wrong type): the browser gives up, so try again later.
      setState('offline');
      if (wanted) retryTimer = setTimeout(open, 5000);
    } else {
      setState('reconnecting');
    }
  };
  for (const type of handlers.keys()) if (!LOCAL.has(type)) attach(es, type);
}

/** Starts the connection (after sign-in). */
export function startLive(): void {
  if (wanted) return;
  wanted = true;
  open();
}

/** Ends the connection (on sign-out). */
export function stopLive(): void {
  wanted = false;
  clearTimeout(retryTimer);
  source?.close();
  source = undefined;
  generation = 0;
  setState('offline');
}

function subscribe(type: string, handler: Handler): () => void {
  let set = handlers.get(type);
  if (!set) {
    set = new Set();
    handlers.set(type, set);
    if (source && !LOCAL.has(type)) attach(source, type);
  }
  set.add(handler);
  return () => set.delete(handler);
}

/**
 * Calls `handler` with each event of `type` (`file`, `alert`) while mounted; `resync`
 * fires when changes may have been missed (a reconnection, or the server's `reset`). The newest handler is always used, so it may close
 * over current state.
 */
export function useLiveEvent<T>(type: string, handler: (data: T) => void): void {
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => subscribe(type, (d) => ref.current(d as T)), [type]);
}

/** The connection's state, for the header. */
export function useLiveState(): LiveState {
  const [s, setS] = useState(state);
  useEffect(() => {
    stateListeners.add(setS);
    setS(state);
    return () => stateListeners.delete(setS);
  }, []);
  return s;
}
