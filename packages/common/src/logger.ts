import { isSpanContextValid, trace } from '@opentelemetry/api';
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  service: string;
  instance?: string;
  level?: string;
  /** Where lines go; standard output by default. Tests pass a stream to read them. */
  destination?: NodeJS.WritableStream;
}

/**
 * A pino logger whose every line carries `service`, `instance` and, inside a span,
 * `trace_id` and `span_id`, so a log line leads to its trace.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service, instance: options.instance },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['*.password', '*.secret', '*.token', 'authorization', '*.authorization', 'headers.authorization'], censor: '[redacted]' },
      // Only a real span context: without a tracer provider the active span can be a
      // placeholder of zeros, which would tie unrelated lines to one bogus trace.
      mixin() {
        const ctx = trace.getActiveSpan()?.spanContext();
        if (!ctx || !isSpanContextValid(ctx)) return {};
        return { trace_id: ctx.traceId, span_id: ctx.spanId };
      },
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}
