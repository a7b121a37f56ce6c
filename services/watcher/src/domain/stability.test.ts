import { describe, expect, it } from 'vitest';
import { Limiter } from './limiter.js';
import { Schedule } from './schedule.js';
import { StabilityTracker } from './stability.js';

const sig = (size: number, mtimeMs: number, extra?: string) => ({ size, mtimeMs, extra });

describe('StabilityTracker', () => {
  it('calls a unit stable only after the whole window without change', () => {
    const t = new StabilityTracker(1000);
    expect(t.observe('a', sig(10, 1), 0)).toBe('pending');
    expect(t.observe('a', sig(10, 1), 999)).toBe('pending');
    expect(t.observe('a', sig(10, 1), 1000)).toBe('stable');
  });

  it('restarts the window when size or mtime changes, from when the change was seen', () => {
    const t = new StabilityTracker(1000);
    t.observe('a', sig(10, 1), 0);
    expect(t.observe('a', sig(20, 1), 900)).toBe('pending');
    expect(t.observe('a', sig(20, 1), 1800)).toBe('pending');
    expect(t.observe('a', sig(20, 2), 1850)).toBe('pending');
    expect(t.dueAt('a')).toBe(2850);
    expect(t.changedAt('a')).toBe(1850);
    expect(t.observe('a', sig(20, 2), 2850)).toBe('stable');
  });

  it('never calls a writer that pauses shorter than the window stable, whatever the pauses', () => {
    const window = 1000;
    const t = new StabilityTracker(window);
    let size = 0;
    let clock = 0;
    let lastWrite = 0;
    // A writer appending with pauses of 100..990 ms, observed every 50 ms.
    const pauses = [990, 100, 500, 999, 300, 700];
    for (const pause of pauses) {
      size += 10;
      lastWrite = clock;
      for (let waited = 0; waited < pause; waited += 50, clock += 50) {
        expect(t.observe('w', sig(size, lastWrite), clock)).toBe('pending');
      }
    }
    // After the last write: stable exactly one window after the change was first seen.
    let stableAt = -1;
    for (; stableAt < 0; clock += 50) if (t.observe('w', sig(size, lastWrite), clock) === 'stable') stableAt = clock;
    expect(stableAt).toBeGreaterThanOrEqual(lastWrite + window);
  });

  it('compares what else a unit carries (folder members, companions) too', () => {
    const t = new StabilityTracker(100);
    t.observe('x.d', sig(10, 5, '2:abc'), 0);
    expect(t.observe('x.d', sig(10, 5, '3:def'), 100)).toBe('pending');
    expect(t.observe('x.d', sig(10, 5, '3:def'), 200)).toBe('stable');
    expect(t.seenOf('x.d')).toMatchObject({ size: 10, mtimeMs: 5, extra: '3:def' });
  });

  it('forgets units', () => {
    const t = new StabilityTracker(100);
    t.observe('a', sig(1, 1), 0);
    t.forget('a');
    expect(t.has('a')).toBe(false);
    expect(t.observe('a', sig(1, 1), 500)).toBe('pending');
  });
});

describe('Schedule', () => {
  it('never hands out a path before its time, and earlier requests win', () => {
    const s = new Schedule(100);
    s.at('a', 1050);
    s.at('b', 1000);
    expect(s.takeDue(1000)).toEqual(['b']);
    expect(s.takeDue(1099)).toEqual([]);
    s.at('a', 5000);
    expect(s.plannedAt('a')).toBe(1100);
    s.at('a', 900);
    expect(s.takeDue(900)).toEqual(['a']);
    expect(s.size).toBe(0);
  });

  it('hands out at most max paths and keeps the rest', () => {
    const s = new Schedule(10);
    for (let i = 0; i < 5; i++) s.at(`p${i}`, 0);
    expect(s.takeDue(0, 3)).toHaveLength(3);
    expect(s.size).toBe(2);
    expect(s.takeDue(0)).toHaveLength(2);
    s.at('x', 100);
    s.delete('x');
    expect(s.takeDue(1000)).toEqual([]);
  });
});

describe('Limiter', () => {
  it('runs at most max tasks at once, in order', async () => {
    const l = new Limiter(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const gates: (() => void)[] = [];
    const tasks = [0, 1, 2, 3, 4].map((i) =>
      l.run(async () => {
        running++;
        peak = Math.max(peak, running);
        order.push(i);
        await new Promise<void>((r) => gates.push(r));
        running--;
      }),
    );
    for (let released = 0; released < 5; released++) {
      await new Promise((r) => setImmediate(r));
      gates.shift()?.();
    }
    await Promise.all(tasks);
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(l.active).toBe(0);
  });

  it('keeps order through a long line of waiting tasks', async () => {
    const l = new Limiter(3);
    const order: number[] = [];
    await Promise.all(Array.from({ length: 5000 }, (_, i) => l.run(async () => {
      order.push(i);
      await Promise.resolve();
    })));
    expect(order).toEqual(Array.from({ length: 5000 }, (_, i) => i));
    expect(l.queued).toBe(0);
  });

  it('frees the slot when a task throws', async () => {
    const l = new Limiter(1);
    await expect(l.run(() => Promise.reject(new Error('x')))).rejects.toThrow('x');
    await expect(l.run(() => Promise.resolve(7))).resolves.toBe(7);
  });
});
