import { describe, expect, it } from 'vitest';
import { attachmentDisposition, downloadName } from './download-name.js';

describe('download names', () => {
  it('uses the last path segment', () => {
    expect(downloadName('2025/run 7/sample.raw', 'file')).toBe('sample.raw');
    expect(downloadName('plate.d/', 'folder')).toBe('plate.d.manifest.json');
    expect(downloadName('a\\b\\c.wiff', 'file')).toBe('c.wiff');
  });

  it('quotes plain ASCII names as they are', () => {
    expect(attachmentDisposition('sample 1.raw')).toBe('attachment; filename="sample 1.raw"');
  });

  it('adds an exact UTF-8 name when the ASCII one had to change', () => {
    expect(attachmentDisposition('größe "x".raw')).toBe(`attachment; filename="gr__e _x_.raw"; filename*=UTF-8''gr%C3%B6%C3%9Fe%20%22x%22.raw`);
    expect(attachmentDisposition("it's (1)*.raw")).toBe(`attachment; filename="it's (1)*.raw"`);
    expect(attachmentDisposition('100%.raw')).toBe(`attachment; filename="100_.raw"; filename*=UTF-8''100%25.raw`);
  });
});
