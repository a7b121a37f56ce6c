import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { credsAuthenticator, headers as natsHeaders, nanos, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { connect } from '@nats-io/transport-node';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { errorMessage, FerryError, isPermanent, PermanentError } from './errors.js';
import { EVENTS, eventForSubject, STREAMS, subjectMatches, type EventName, type EventOf, type StreamName } from './events.js';
import { busMetrics } from './metrics.js';
import { extractTraceContext, getTracer, injectTraceContext, SpanKind, withSpan } from './tracing.js';

/** Options for {@link Bus.connect}. */
export interface BusOptions {
  servers: string;
  /** Isolates one deployment (or one test): prefixes every subject and stream name. */
  prefix?: string;
  /** Connection name shown by the server, e.g. `uploader-host1`. */
  name: string;
  /** The service name; used for span names and dead letters. */
  service: string;
  logger: Logger;
  user?: string;
  password?: string;
  credsFile?: string;
  /** Reply subjects start with this (default `_INBOX`); `_INBOX_<user>` under per-user permissions. */
  inboxPrefix?: string;
  /** TLS: the CA file turns it on (and verifies the server); cert and key for client authentication. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
}

/** The NATS settings every service reads (see `natsEnv`). */
export interface NatsSettings {
  NATS_URL: string;
  NATS_PREFIX: string;
  NATS_USER?: string | undefined;
  NATS_PASSWORD?: string | undefined;
  NATS_CREDS_FILE?: string | undefined;
  NATS_INBOX_PREFIX?: string | undefined;
  NATS_TLS_CA?: string | undefined;
  NATS_TLS_CERT?: string | undefined;
  NATS_TLS_KEY?: string | undefined;
  FERRY_INSTANCE: string;
}

/** Connects a service with its parsed settings; the connection is named `<service>-<instance>`. */
export function connectBus(config: NatsSettings, service: string, logger: Logger): Promise<Bus> {
  return Bus.connect({
    servers: config.NATS_URL,
    prefix: config.NATS_PREFIX,
    name: `${service}-${config.FERRY_INSTANCE}`,
    service,
    logger,
    user: config.NATS_USER,
    password: config.NATS_PASSWORD,
    credsFile: config.NATS_CREDS_FILE,
    inboxPrefix: config.NATS_INBOX_PREFIX,
    tls: config.NATS_TLS_CA || config.NATS_TLS_CERT || config.NATS_TLS_KEY ? { caFile: config.NATS_TLS_CA, certFile: config.NATS_TLS_CERT, keyFile: config.NATS_TLS_KEY } : undefined,
  });
}

/** A message handed to a consumer's handler, already validated against the catalog. */
export type Received<N extends EventName> = { [K in N]: ReceivedOf<K> }[N];

interface ReceivedOf<N extends EventName> {
  name: N;
  event: EventOf<N>;
  subject: string;
  /** How many times this message has been delivered, 1 on the first try. */
  deliveries: number;
  streamSequence: number;
}

/** Options for {@link Bus.consume}. */
export interface ConsumeOptions<N extends EventName> {
  stream: StreamName;
  durable: string;
  /** Subject filter without prefix; the whole stream when unset. */
  filter?: string;
  /** The events this consumer handles; anything else goes to the dead-letter subject. */
  events: readonly N[];
  handler: (msg: Received<N>) => Promise<void>;
  /** Messages handled at once (default 1). */
  concurrency?: number;
  /** Deliveries before a failing message is dead-lettered (default 5). */
  maxDeliver?: number;
  /** Delay before each redelivery after a failure, in ms (last one repeats). */
  backoffMs?: readonly number[];
  /** How long the server waits for an ack before redelivering (default 30 s); extended while the handler runs. */
  ackWaitMs?: number;
  /** Where a new consumer starts (default: all messages). */
  deliverPolicy?: 'all' | 'new';
}

/** A running consumer; `stop()` waits for in-flight handlers. */
export interface Subscription {
  stop(): Promise<void>;
  /** Counters since start: handled, failed (retried), dead-lettered. */
  readonly stats: { handled: number; retried: number; deadLettered: number };
}

/** True for the server's refusal of a subject this user may not use. */
function isPermissionViolation(err: unknown): boolean {
  return /permissions violation/i.test(errorMessage(err));
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Ferry's NATS JetStream access: stream setup, validated publishing with message ids
 * and trace headers, and consumers with ack/nak/term and a dead-letter subject.
 */
export class Bus {
  private readonly subscriptions = new Set<Subscription>();

  private constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    private readonly options: BusOptions,
  ) {}

  static async connect(options: BusOptions): Promise<Bus> {
    const authenticator = options.credsFile ? credsAuthenticator(await readFile(options.credsFile)) : undefined;
    const tls = options.tls;
    if (tls && Boolean(tls.certFile) !== Boolean(tls.keyFile)) throw new PermanentError('NATS_TLS_CERT and NATS_TLS_KEY go together: set both or neither');
    const nc = await connect({
      servers: options.servers.split(',').map((s) => s.trim()),
      name: options.name,
      user: options.user,
      pass: options.password,
      authenticator,
      ...(options.inboxPrefix ? { inboxPrefix: options.inboxPrefix } : {}),
      // Without NATS_TLS_CA the server's certificate is checked against the system's CAs.
      ...(tls ? { tls: { ...(tls.caFile ? { caFile: tls.caFile } : {}), ...(tls.certFile ? { certFile: tls.certFile, keyFile: tls.keyFile } : {}) } } : {}),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1000,
    });
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === 'disconnect' || status.type === 'reconnect' || status.type === 'error') {
          // A permissions violation arrives here too: its message names the subject.
          options.logger.warn({ nats: status.type, ...(status.type === 'error' ? { err: errorMessage(status.error) } : {}) }, 'nats connection status');
        }
      }
    })();
    const jsm = await jetstreamManager(nc);
    return new Bus(nc, jetstream(nc), jsm, options);
  }

  /** The deployment prefix ('' when none). */
  get prefix(): string {
    return this.options.prefix ?? '';
  }

  /** A subject with the deployment prefix. */
  subject(subject: string): string {
    return this.prefix ? `${this.prefix}.${subject}` : subject;
  }

  /** A subject without the deployment prefix. */
  unprefixed(subject: string): string {
    return this.prefix && subject.startsWith(`${this.prefix}.`) ? subject.slice(this.prefix.length + 1) : subject;
  }

  /** A stream name with the deployment prefix. */
  streamName(stream: StreamName): string {
    return this.prefix ? `${this.prefix}_${stream}` : stream;
  }

  /**
   * Creates Ferry's streams, or brings their settings up to date. Only the core's NATS
   * user may change streams (deploy/nats/auth.conf: a worker that could update one could
   * shrink its limits and so delete what it holds); others use the streams as they are,
   * and wait up to `waitMs` for one that does not exist yet, since the monitor creates
   * them at its start. A user that may not even look at them (an instrument PC) goes on:
   * its publishes say whether they reach a stream.
   */
  async ensureStreams(options: { waitMs?: number } = {}): Promise<void> {
    const waitMs = options.waitMs ?? 120_000;
    // Once the server refuses a change, the others would be refused too: only look.
    let mayChange = true;
    for (const [name, def] of Object.entries(STREAMS) as [StreamName, (typeof STREAMS)[StreamName]][]) {
      const config = {
        name: this.streamName(name),
        subjects: def.subjects.map((s) => this.subject(s)),
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        max_age: nanos(def.maxAgeMs),
        duplicate_window: nanos(Math.min(def.maxAgeMs, 3_600_000)),
      };
      let exists: boolean;
      try {
        await this.jsm.streams.info(config.name);
        exists = true;
      } catch (err) {
        if (isPermissionViolation(err)) {
          this.options.logger.info({ err: errorMessage(err) }, 'streams are managed elsewhere: this NATS user may not look at them');
          return;
        }
        if (!(err instanceof JetStreamApiError && err.status === 404)) throw err;
        exists = false;
      }
      if (mayChange) {
        try {
          if (exists) await this.jsm.streams.update(config.name, config);
          else await this.jsm.streams.add(config);
          continue;
        } catch (err) {
          if (!isPermissionViolation(err)) throw err;
          mayChange = false;
          this.options.logger.debug('streams used as they are: this NATS user may not change them');
        }
      }
      if (!exists) await this.waitForStream(config.name, waitMs);
    }
  }

  private async waitForStream(name: string, waitMs: number): Promise<void> {
    const deadline = Date.now() + waitMs;
    this.options.logger.info({ stream: name, waitMs }, 'waiting for the stream: the monitor creates the streams when it starts');
    for (;;) {
      try {
        await this.jsm.streams.info(name);
        return;
      } catch (err) {
        if (!(err instanceof JetStreamApiError && err.status === 404)) throw err;
      }
      if (Date.now() >= deadline) {
        throw new FerryError(`stream ${name} does not exist and this NATS user may not create it: the monitor creates the streams when it starts; start it first`);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, Math.max(0, deadline - Date.now()))));
    }
  }

  /**
   * Validates `event` against the catalog and publishes it with `Nats-Msg-Id` and the
   * active trace context. Stored events wait for the server's ack; core events do not.
   */
  async publish<N extends EventName>(name: N, event: EventOf<N>): Promise<void> {
    const def = EVENTS[name];
    const parsed = def.schema.safeParse(event);
    if (!parsed.success) throw new PermanentError(`refusing to publish an invalid ${name}: ${parsed.error.message}`);
    const subject = this.subject((def.subject as (e: unknown) => string)(parsed.data));
    const msgId = (def.msgId as (e: unknown) => string)(parsed.data);
    await withSpan(getTracer(this.options.service), `${name} publish`, { kind: SpanKind.PRODUCER, attributes: { 'messaging.destination.name': subject, 'messaging.message.id': msgId } }, async () => {
      const hdrs = natsHeaders();
      for (const [k, v] of Object.entries(injectTraceContext({}))) hdrs.set(k, v);
      const data = encoder.encode(JSON.stringify(parsed.data));
      if (def.stream === null) {
        hdrs.set('Nats-Msg-Id', msgId);
        this.nc.publish(subject, data, { headers: hdrs });
        return;
      }
      await this.js.publish(subject, data, { msgID: msgId, headers: hdrs });
    });
    busMetrics.published.inc({ event: name });
  }

  /** Subscribes to a core (not stored) event such as `upload.progress`; invalid messages are logged. */
  subscribeCore<N extends EventName>(name: N, handler: (event: EventOf<N>, subject: string) => void): { stop(): void } {
    const sub = this.nc.subscribe(this.subject(EVENTS[name].pattern), {
      callback: (err, msg) => {
        if (err) return;
        const parsed = EVENTS[name].schema.safeParse(safeJson(msg.data));
        if (parsed.success) handler(parsed.data as EventOf<N>, this.unprefixed(msg.subject));
        else this.options.logger.warn({ subject: msg.subject }, 'ignoring an invalid core message');
      },
    });
    return { stop: () => sub.unsubscribe() };
  }

  /** Starts a durable pull consumer; creates or updates its configuration first. */
  async consume<N extends EventName>(opts: ConsumeOptions<N>): Promise<Subscription> {
    const stream = this.streamName(opts.stream);
    const maxDeliver = opts.maxDeliver ?? 5;
    const backoff = opts.backoffMs ?? [1000, 5000, 30_000];
    const ackWaitMs = opts.ackWaitMs ?? 30_000;
    const config = {
      durable_name: opts.durable,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(ackWaitMs),
      // Redeliveries are driven by nak(delay); the server's own limit is one above ours so
      // a message whose handler crashed the process still reaches the dead-letter path.
      max_deliver: maxDeliver + 1,
      max_ack_pending: Math.max(100, (opts.concurrency ?? 1) * 4),
      deliver_policy: opts.deliverPolicy === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
      ...(opts.filter ? { filter_subject: this.subject(opts.filter) } : {}),
    };
    try {
      await this.jsm.consumers.info(stream, opts.durable);
      const { deliver_policy: _ignored, ...updatable } = config;
      await this.jsm.consumers.update(stream, opts.durable, updatable);
    } catch (err) {
      if (err instanceof JetStreamApiError && err.status === 404) await this.jsm.consumers.add(stream, config);
      else throw err;
    }
    const consumer = await this.js.consumers.get(stream, opts.durable);
    const concurrency = Math.max(1, opts.concurrency ?? 1);
    const messages: ConsumerMessages = await consumer.consume({ max_messages: concurrency });
    const stats = { handled: 0, retried: 0, deadLettered: 0 };
    const inFlight = new Set<Promise<void>>();
    const logger = this.options.logger.child({ consumer: opts.durable });

    const handleOne = async (m: JsMsg): Promise<void> => {
      const subject = this.unprefixed(m.subject);
      const deliveries = m.info.deliveryCount;
      const name = eventForSubject(subject);
      const carrier = headerRecord(m.headers);
      const parent = extractTraceContext(carrier);
      await withSpan(getTracer(this.options.service), `${name ?? subject} process`, { kind: SpanKind.CONSUMER, parent, attributes: { 'messaging.destination.name': m.subject, 'messaging.consumer.group.name': opts.durable } }, async () => {
        if (!name || !(opts.events as readonly string[]).includes(name)) {
          await this.deadLetter(m, opts, 'unknown-subject', `no handler for ${subject} in ${opts.durable}`);
          stats.deadLettered++;
          busMetrics.consumed.inc({ event: name ?? 'unknown', consumer: opts.durable, outcome: 'dead_lettered' });
          return;
        }
        const parsed = EVENTS[name].schema.safeParse(safeJson(m.data));
        if (!parsed.success) {
          await this.deadLetter(m, opts, 'invalid', parsed.error.message);
          stats.deadLettered++;
          busMetrics.consumed.inc({ event: name, consumer: opts.durable, outcome: 'dead_lettered' });
          return;
        }
        const keepAlive = setInterval(() => m.working(), Math.max(1000, ackWaitMs / 3));
        const labels = { event: name, consumer: opts.durable };
        const endTimer = busMetrics.handlerSeconds.startTimer(labels);
        try {
          await opts.handler({ name, event: parsed.data, subject, deliveries, streamSequence: m.seq } as Received<N>);
          m.ack();
          stats.handled++;
          busMetrics.consumed.inc({ ...labels, outcome: 'handled' });
        } catch (err) {
          const permanent = isPermanent(err);
          if (permanent || deliveries >= maxDeliver) {
            await this.deadLetter(m, opts, permanent ? 'permanent' : 'retries-exhausted', errorMessage(err));
            stats.deadLettered++;
            busMetrics.consumed.inc({ ...labels, outcome: 'dead_lettered' });
          } else {
            const delay = backoff[Math.min(deliveries - 1, backoff.length - 1)] ?? 1000;
            logger.warn({ subject, deliveries, delayMs: delay, err: errorMessage(err) }, 'handler failed, will retry');
            m.nak(delay);
            stats.retried++;
            busMetrics.consumed.inc({ ...labels, outcome: 'retried' });
          }
        } finally {
          clearInterval(keepAlive);
          endTimer();
        }
      });
    };

    const loop = (async () => {
      for await (const m of messages) {
        while (inFlight.size >= concurrency) await Promise.race(inFlight);
        const p = handleOne(m)
          .catch((err: unknown) => {
            // Publishing the dead letter itself failed: leave the message unacked so it comes back.
            logger.error({ err: errorMessage(err), subject: m.subject }, 'could not settle message; it will be redelivered');
            m.nak(5000);
          })
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
    })();

    let stopping: Promise<void> | undefined;
    const subscription: Subscription = {
      stats,
      stop: () => {
        stopping ??= (async () => {
          await messages.close();
          await loop.catch(() => undefined);
          await Promise.allSettled([...inFlight]);
          this.subscriptions.delete(subscription);
        })();
        return stopping;
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  private async deadLetter(m: JsMsg, opts: { stream: StreamName; durable: string }, reason: EventOf<'dead.letter'>['reason'], error: string): Promise<void> {
    this.options.logger.error({ subject: m.subject, consumer: opts.durable, reason, error }, 'message dead-lettered');
    await this.publish('dead.letter', {
      stream: opts.stream,
      consumer: opts.durable,
      subject: this.unprefixed(m.subject),
      sequence: m.seq,
      deliveries: m.info.deliveryCount,
      reason,
      error: error.slice(0, 4000),
      data: decoder.decode(m.data),
      headers: headerRecord(m.headers),
      at: new Date().toISOString(),
    });
    // No reason string: nats-server 2.9 does not understand "+TERM <reason>" and would ignore the term.
    m.term();
  }

  /** Stops every consumer (waiting for in-flight handlers), then drains the connection. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.subscriptions].map((s) => s.stop()));
    if (this.nc.isClosed()) return;
    // Draining needs the server; when it is gone (reconnecting), close instead of waiting forever.
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), 5000);
    });
    const drained = await Promise.race([this.nc.drain().then(() => 'drained' as const, () => 'failed' as const), gaveUp]);
    clearTimeout(timer);
    if (drained !== 'drained') await this.nc.close();
    await this.nc.closed();
  }
}

function headerRecord(h: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const [key, values] of h) out[key.toLowerCase()] = values[0] ?? '';
  return out;
}

function safeJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(data)) as unknown;
  } catch {
    return undefined;
  }
}

/** True when a subject (without prefix) belongs to the given stream. */
export function streamOfSubject(subject: string): StreamName | undefined {
  for (const [name, def] of Object.entries(STREAMS) as [StreamName, (typeof STREAMS)[StreamName]][]) {
    if (def.subjects.some((p) => subjectMatches(p, subject))) return name;
  }
  return undefined;
}
