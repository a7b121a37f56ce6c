import { errorMessage, type Logger } from '@ferry/common';
import type { Response } from 'express';
import type { LiveEvent, LiveFeed } from '../adapters/live-feed.js';
import { decodePosition, encodePosition } from '../domain/live-position.js';
import { sendError } from './errors.js';
import { defineRoute, type ApiRoute } from './routes.js';

/** Options for {@link EventsHub}. */
export interface EventsOptions {
  feed: LiveFeed;
  logger: Logger;
  /** Between comment lines that keep proxies from closing an idle stream (default 15 s). */
  heartbeatMs?: number;
  /** Connections at once (default 500); more are refused with 503. */
  maxClients?: number;
  /** A client that lets this much pile up unread is disconnected (default 1 MiB); its browser reconnects and catches up. */
  maxBufferedBytes?: number;
  /** Changes replayed after a reconnect before asking the client to reload instead (default 500). */
  replayLimit?: number;
}

function frame(event: LiveEvent): string {
  return `id: ${encodePosition(event.position)}\nevent: ${event.type}\ndata: ${JSON.stringify(event.item)}\n\n`;
}

/**
 * `GET /api/v1/events`: Server-Sent Events of file and alert changes. Every connection
 * listens to the one shared {@link LiveFeed}; a connection costs a listener, a timer and
 * its socket buffer, which is bounded.
 */
export class EventsHub {
  private readonly open = new Set<Response>();
  private readonly heartbeatMs: number;
  private readonly maxClients: number;
  private readonly maxBufferedBytes: number;
  private readonly replayLimit: number;

  constructor(private readonly options: EventsOptions) {
    this.heartbeatMs = options.heartbeatMs ?? 15_000;
    this.maxClients = options.maxClients ?? 500;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 1 << 20;
    this.replayLimit = options.replayLimit ?? 500;
  }

  /** Connections open now. */
  get size(): number {
    return this.open.size;
  }

  route(): ApiRoute {
    return defineRoute({
      method: 'get',
      path: '/events',
      tag: 'live',
      summary: 'Live changes as Server-Sent Events',
      description:
        '`event: file` with a FileItem whenever a file changes, `event: alert` with an Alert whenever an alert changes, `: ping` comments every 15 s. ' +
        'Each event has an id; a client that reconnects with `Last-Event-ID` gets what it missed, or `event: reset` when that is too much (reload then).',
      access: 'viewer',
      responses: { 200: { description: 'The event stream.', mediaTypes: ['text/event-stream'] }, 503: { description: 'Too many live connections.' } },
      handle: ({ req, res }) => this.serve(res, req.get('last-event-id')),
    });
  }

  /** Ends every stream (at shutdown: an open stream would hold the server open). */
  closeAll(): void {
    for (const res of this.open) res.end();
    this.open.clear();
  }

  private async serve(res: Response, lastEventId: string | undefined): Promise<void> {
    if (this.open.size >= this.maxClients) {
      sendError(res, 503, { error: 'unavailable', message: `too many live connections (${this.maxClients}); try again later` });
      return;
    }
    const { feed, logger } = this.options;
    let closed = false;
    let replaying = true;
    const pending: LiveEvent[] = [];
    let overflow = false;
    let unsubscribe: (() => void) | undefined;
    const timers: { heartbeat?: NodeJS.Timeout } = {};
    const close = () => {
      if (closed) return;
      closed = true;
      clearInterval(timers.heartbeat);
      unsubscribe?.();
      this.open.delete(res);
      if (!res.writableEnded) res.end();
    };
    const write = (text: string) => {
      if (closed) return;
      if (res.writableLength > this.maxBufferedBytes) {
        logger.info('live client too slow; disconnected (it will reconnect and catch up)');
        close();
        return;
      }
      res.write(text);
    };
    const listener = (event: LiveEvent) => {
      if (!replaying) write(frame(event));
      else if (pending.length < this.replayLimit) pending.push(event);
      else overflow = true;
    };

    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    // nginx would otherwise buffer the stream.
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    this.open.add(res);
    res.on('close', close);
    res.write('retry: 3000\n: connected\n\n');

    try {
      unsubscribe = await feed.subscribe(listener);
      if (closed) {
        unsubscribe();
        return;
      }
      const from = decodePosition(lastEventId);
      if (from) {
        const missed = await feed.since(from, this.replayLimit);
        if (!missed.complete) write(`event: reset\ndata: ${JSON.stringify({ reason: 'too many changes since the last event; reload' })}\n\n`);
        else for (const event of missed.events) write(frame(event));
      }
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'live stream could not start');
      write(`event: error\ndata: ${JSON.stringify({ message: 'the live feed is unavailable; retrying' })}\n\n`);
      close();
      return;
    }
    replaying = false;
    if (overflow) write(`event: reset\ndata: ${JSON.stringify({ reason: 'too many changes while connecting; reload' })}\n\n`);
    for (const event of pending.splice(0)) write(frame(event));
    timers.heartbeat = setInterval(() => write(': ping\n\n'), this.heartbeatMs);
    timers.heartbeat.unref();
  }
}
