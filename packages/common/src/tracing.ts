import {
  context,
  isSpanContextValid,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { errorMessage } from './errors.js';

export { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
export type { Context, Span, Tracer } from '@opentelemetry/api';
/** For tests: an exporter that keeps finished spans in memory (pass it in `exporters`). */
export { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';

/** Options for {@link setupTelemetry}. */
export interface TelemetryOptions {
  service: string;
  version?: string;
  instance?: string;
  /** OTLP/HTTP base URL (for example http://collector:4318); no export when unset. */
  otlpEndpoint?: string;
  /** Extra exporters, such as an in-memory one in tests. */
  exporters?: SpanExporter[];
  /**
   * Longest wait, in ms, before finished spans go to the OTLP endpoint. Default: the
   * standard `OTEL_BSP_SCHEDULE_DELAY` variable, else 5000. The SDK no longer reads that
   * variable itself, so it is read here, once, when telemetry is set up.
   */
  batchDelayMs?: number;
}

/** `OTEL_BSP_SCHEDULE_DELAY` when it is a non-negative integer; anything else is ignored. */
function batchDelayFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env.OTEL_BSP_SCHEDULE_DELAY?.trim();
  if (!raw || !/^\d+$/.test(raw)) return undefined;
  return Number(raw);
}

/** What {@link setupTelemetry} returns: flush and stop on shutdown. */
export interface Telemetry {
  shutdown(): Promise<void>;
}

let installed = false;

/**
 * Installs the global tracer provider, the W3C propagator and an async-local context
 * manager. Spans are always real (their ids go into logs and message headers); they
 * leave the process only when an OTLP endpoint or an exporter is given. A second call
 * in the same process (tests running several services) keeps the first provider.
 */
export function setupTelemetry(options: TelemetryOptions): Telemetry {
  if (installed) return { shutdown: () => Promise.resolve() };
  installed = true;
  const processors: SpanProcessor[] = [];
  if (options.otlpEndpoint) {
    const url = `${options.otlpEndpoint.replace(/\/+$/, '')}/v1/traces`;
    const scheduledDelayMillis = options.batchDelayMs ?? batchDelayFromEnv(process.env) ?? 5000;
    // Spans still in the batch are sent by `shutdown()` (provider shutdown flushes every processor).
    processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url }), { scheduledDelayMillis }));
  }
  for (const exporter of options.exporters ?? []) {
    processors.push(new BatchSpanProcessor(exporter, { scheduledDelayMillis: 100 }));
  }
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.service,
      [ATTR_SERVICE_VERSION]: options.version ?? '0.0.0',
      'service.instance.id': options.instance ?? '',
    }),
    spanProcessors: processors,
  });
  const contextManager = new AsyncLocalStorageContextManager();
  contextManager.enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return {
    async shutdown() {
      await provider.shutdown();
      installed = false;
    },
  };
}

/** The tracer of a service; the tracer name tells which service made a span. */
export function getTracer(service: string): Tracer {
  return trace.getTracer(`ferry.${service}`);
}

/** Writes the active (or given) context as W3C `traceparent`/`tracestate` entries. */
export function injectTraceContext(carrier: Record<string, string>, ctx: Context = context.active()): Record<string, string> {
  propagation.inject(ctx, carrier);
  return carrier;
}

/** Reads a W3C trace context from a carrier into a new context. */
export function extractTraceContext(carrier: Record<string, string | undefined>, base: Context = context.active()): Context {
  return propagation.extract(base, carrier, {
    keys: (c) => Object.keys(c),
    get: (c, key) => c[key] ?? c[key.toLowerCase()],
  });
}

/** The trace id of the active span, or undefined outside one. */
export function activeTraceId(): string | undefined {
  const ctx = trace.getActiveSpan()?.spanContext();
  return ctx && isSpanContextValid(ctx) ? ctx.traceId : undefined;
}

/**
 * Runs `fn` inside a new span: the span ends when `fn` settles and records the error
 * (status ERROR) if it throws.
 */
export async function withSpan<T>(
  tracer: Tracer,
  name: string,
  options: { kind?: SpanKind; attributes?: Record<string, string | number | boolean>; parent?: Context },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? context.active();
  return tracer.startActiveSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err instanceof Error ? err : new Error(errorMessage(err)));
      span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}
