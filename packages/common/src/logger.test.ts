import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { context, extractTraceContext, getTracer, setupTelemetry, trace, withSpan, type Telemetry } from './tracing.js';

/** A logger writing JSON lines into an array. */
function capture(): { lines: Record<string, unknown>[]; logger: ReturnType<typeof createLogger> } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger({ service: 'test', instance: 'i1', destination }) };
}

describe('log lines carry the trace they were written in', () => {
  let telemetry: Telemetry;
  const spans = new InMemorySpanExporter();
  beforeAll(() => {
    telemetry = setupTelemetry({ service: 'logger-test', exporters: [spans] });
  });
  afterAll(() => telemetry.shutdown());

  it('adds trace_id and span_id of the active span, also to child loggers, and nothing outside a span', async () => {
    const { lines, logger } = capture();
    logger.info('before');
    const ids = await withSpan(getTracer('test'), 'outer', {}, async (outer) => {
      logger.info('in outer');
      const inner = await withSpan(getTracer('test'), 'inner', {}, (span) => {
        logger.child({ component: 'x' }).info('in inner');
        return Promise.resolve(span.spanContext());
      });
      return { outer: outer.spanContext(), inner };
    });
    logger.info('after');

    expect(lines.map((l) => l.msg)).toEqual(['before', 'in outer', 'in inner', 'after']);
    const [before, inOuter, inInner, after] = lines;
    expect(before).not.toHaveProperty('trace_id');
    expect(after).not.toHaveProperty('trace_id');
    expect(inOuter).toMatchObject({ trace_id: ids.outer.traceId, span_id: ids.outer.spanId, service: 'test', instance: 'i1' });
    expect(inInner).toMatchObject({ trace_id: ids.outer.traceId, span_id: ids.inner.spanId, component: 'x' });
    expect(ids.outer.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(ids.inner.spanId).not.toBe(ids.outer.spanId);
  });

  it('continues a trace received from another service (a traceparent header)', async () => {
    const { lines, logger } = capture();
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parent = extractTraceContext({ traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    await withSpan(getTracer('test'), 'handle', { parent }, () => {
      logger.info('handling');
      return Promise.resolve();
    });
    expect(lines[0]).toMatchObject({ msg: 'handling', trace_id: traceId });
    expect(lines[0]!.span_id).not.toBe('00f067aa0ba902b7');
  });

  it('leaves out an invalid (all-zero) span context', () => {
    const { lines, logger } = capture();
    // What the API hands out when no tracer provider is installed.
    const bogus = trace.setSpanContext(context.active(), { traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 });
    context.with(bogus, () => logger.info('no trace here'));
    expect(lines[0]).not.toHaveProperty('trace_id');
  });
});
