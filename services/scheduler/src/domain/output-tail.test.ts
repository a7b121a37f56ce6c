import { describe, expect, it } from 'vitest';
import { OutputTail } from './output-tail.js';

describe('OutputTail', () => {
  it('keeps everything while under the limit', () => {
    const tail = new OutputTail(16);
    tail.push('hello ');
    tail.push(Buffer.from('world'));
    expect(tail.toString()).toBe('hello world');
    expect(tail.truncated).toBe(false);
    expect(tail.byteLength).toBe(11);
  });

  it('keeps only the last bytes across many chunks and marks the cut', () => {
    const tail = new OutputTail(10);
    for (let i = 0; i < 100; i++) tail.push(`line ${i}\n`);
    expect(tail.byteLength).toBe(10);
    expect(tail.toString()).toBe('…8\nline 99\n');
    expect(tail.truncated).toBe(true);
  });

  it('keeps the end of a single chunk larger than the limit', () => {
    const tail = new OutputTail(4);
    tail.push('abcdefgh');
    expect(tail.toString()).toBe('…efgh');
  });

  it('counts an exactly full first chunk as not truncated', () => {
    const tail = new OutputTail(4);
    tail.push('abcd');
    expect(tail.toString()).toBe('abcd');
    tail.push('e');
    expect(tail.toString()).toBe('…bcde');
  });

  it('drops a multi-byte character cut in half at the start', () => {
    const tail = new OutputTail(4);
    tail.push('xé€'); // x(1) é(2) €(3) = 6 bytes; keeping 4 cuts é in half
    expect(tail.toString()).toBe('…€');
  });

  it('bounds memory for a large stream', () => {
    const tail = new OutputTail();
    const chunk = Buffer.alloc(64 * 1024, 'a');
    for (let i = 0; i < 100; i++) tail.push(chunk);
    tail.push('the end');
    expect(tail.byteLength).toBe(4096);
    expect(tail.toString().endsWith('the end')).toBe(true);
  });

  it('rejects a non-positive size', () => {
    expect(() => new OutputTail(0)).toThrow(RangeError);
  });
});
