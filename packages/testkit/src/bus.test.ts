import { Bus, EVENTS, type Received } from '@ferry/common';
import { afterEach, describe, expect, it } from 'vitest';
import { isolate, testLogger, waitFor } from './index.js';

const detected = (n: number) => ({
  fileId: `f${n}`,
  instrument: 'ms1',
  path: `run-${n}.raw`,
  root: '/data/ms1',
  kind: 'file' as const,
  size: n,
  sha256: String(n % 10).repeat(64),
  mtime: new Date().toISOString(),
  detectedAt: new Date().toISOString(),
  watcher: 'w1',
});

describe('Bus against a real nats-server', () => {
  const buses: Bus[] = [];
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close()));
  });

  async function bus(prefix: string, service = 'test'): Promise<Bus> {
    const { natsUrl } = await isolate('bus');
    const b = await Bus.connect({ servers: natsUrl, prefix, name: service, service, logger: testLogger(service) });
    buses.push(b);
    await b.ensureStreams();
    return b;
  }

  it('publishes once per message id and delivers validated events', async () => {
    const b = await bus('dedup1');
    await b.publish('file.detected', detected(1));
    await b.publish('file.detected', detected(1));
    await b.publish('file.detected', detected(2));
    const seen: Received<'file.detected'>[] = [];
    await b.consume({ stream: 'FILES', durable: 'c1', filter: 'file.detected.>', events: ['file.detected'], handler: (m) => { seen.push(m); return Promise.resolve(); } });
    await waitFor('two deliveries', () => seen.length >= 2);
    await new Promise((r) => setTimeout(r, 200));
    expect(seen.map((m) => m.event.fileId).sort()).toEqual(['f1', 'f2']);
  });

  it('carries the trace context in headers', async () => {
    const b = await bus('trace1');
    await b.publish('file.detected', detected(3));
    const info = await b.jsm.streams.getMessage(b.streamName('FILES'), { last_by_subj: b.subject('file.detected.ms1') });
    expect(info?.header.get('Nats-Msg-Id')).toBe(EVENTS['file.detected'].msgId(detected(3)));
  });

  it('dead-letters a message that fails its schema, once, and does not retry it', async () => {
    const b = await bus('dlq1');
    let handled = 0;
    const sub = await b.consume({ stream: 'FILES', durable: 'c2', filter: 'file.detected.>', events: ['file.detected'], handler: () => { handled++; return Promise.resolve(); } });
    await b.js.publish(b.subject('file.detected.ms1'), new TextEncoder().encode('{"fileId": 42}'));
    const dead: Received<'dead.letter'>[] = [];
    await b.consume({ stream: 'DLQ', durable: 'dlq-reader', events: ['dead.letter'], handler: (m) => { dead.push(m); return Promise.resolve(); } });
    await waitFor('a dead letter', () => dead.length === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(dead).toHaveLength(1);
    expect(dead[0]!.event.reason).toBe('invalid');
    expect(dead[0]!.event.data).toBe('{"fileId": 42}');
    expect(handled).toBe(0);
    expect(sub.stats.deadLettered).toBe(1);
    const info = await b.jsm.consumers.info(b.streamName('FILES'), 'c2');
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_pending).toBe(0);
  });

  it('retries a failing handler with backoff, then dead-letters it', async () => {
    const b = await bus('retry1');
    let calls = 0;
    await b.consume({
      stream: 'FILES',
      durable: 'c3',
      filter: 'file.detected.>',
      events: ['file.detected'],
      maxDeliver: 3,
      backoffMs: [50],
      handler: () => {
        calls++;
        return Promise.reject(new Error('store down'));
      },
    });
    const dead: Received<'dead.letter'>[] = [];
    await b.consume({ stream: 'DLQ', durable: 'dlq-reader', events: ['dead.letter'], handler: (m) => { dead.push(m); return Promise.resolve(); } });
    await b.publish('file.detected', detected(4));
    await waitFor('a dead letter after retries', () => dead.length === 1);
    expect(calls).toBe(3);
    expect(dead[0]!.event.reason).toBe('retries-exhausted');
    expect(dead[0]!.event.error).toBe('store down');
  });
});
