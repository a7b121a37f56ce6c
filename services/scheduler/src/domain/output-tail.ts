/** How much of a command's output a job keeps by default: enough for an error, not a log. */
export const DEFAULT_TAIL_BYTES = 4096;

/**
 * The last bytes of a command's combined stdout and stderr. Memory stays bounded however
 * much a command prints, which matters for chatty tools running for hours.
 */
export class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = false;

  constructor(readonly maxBytes = DEFAULT_TAIL_BYTES) {
    if (!Number.isInteger(maxBytes) || maxBytes <= 0) throw new RangeError(`maxBytes must be a positive integer, got ${maxBytes}`);
  }

  /** Appends a chunk, dropping the oldest bytes past the limit. */
  push(chunk: Buffer | string): void {
    let buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (buf.length === 0) return;
    if (buf.length >= this.maxBytes) {
      this.dropped ||= this.size > 0 || buf.length > this.maxBytes;
      buf = Buffer.from(buf.subarray(buf.length - this.maxBytes));
      this.chunks = [buf];
      this.size = buf.length;
      return;
    }
    this.chunks.push(buf);
    this.size += buf.length;
    while (this.size > this.maxBytes) {
      const first = this.chunks[0];
      if (!first) break;
      const excess = this.size - this.maxBytes;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
      }
      this.dropped = true;
    }
  }

  /** True when older output was dropped. */
  get truncated(): boolean {
    return this.dropped;
  }

  /** Bytes currently kept. */
  get byteLength(): number {
    return this.size;
  }

  /**
   * The kept output as text. A cut through a multi-byte UTF-8 character at the start is
   * removed rather than shown as a replacement character, and a leading `…` marks a cut.
   */
  toString(): string {
    let buf = Buffer.concat(this.chunks, this.size);
    if (this.dropped) {
      let skip = 0;
      // UTF-8 continuation bytes are 10xxxxxx; a character never has more than 3 of them.
      while (skip < 3 && skip < buf.length && ((buf[skip] ?? 0) & 0xc0) === 0x80) skip++;
      buf = buf.subarray(skip);
    }
    const text = buf.toString('utf8');
    return this.dropped ? `…${text}` : text;
  }
}
