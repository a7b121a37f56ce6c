import { describe, expect, it } from 'vitest';
import { deriveStatus, nextJobStatus, type FileFacts } from './file-status.js';

const facts = (f: Partial<FileFacts> = {}): FileFacts => ({ uploading: false, stored: false, uploadFailed: null, skipped: false, jobs: [], ...f });

describe('deriveStatus', () => {
  it('follows a file through its steps', () => {
    expect(deriveStatus(facts()).status).toBe('detected');
    expect(deriveStatus(facts({ uploading: true })).status).toBe('uploading');
    expect(deriveStatus(facts({ uploading: true, stored: true })).status).toBe('stored');
    expect(deriveStatus(facts({ stored: true, skipped: true })).status).toBe('done');
    expect(deriveStatus(facts({ stored: true, jobs: [{ pipeline: 'p', status: 'queued', error: null }] })).status).toBe('queued');
    expect(deriveStatus(facts({ stored: true, jobs: [{ pipeline: 'p', status: 'done', error: null }, { pipeline: 'q', status: 'processing', error: null }] })).status).toBe('processing');
    expect(deriveStatus(facts({ stored: true, jobs: [{ pipeline: 'p', status: 'done', error: null }] })).status).toBe('done');
  });

  it('says which step failed and why', () => {
    expect(deriveStatus(facts({ uploadFailed: 'access denied' }))).toEqual({ status: 'failed', failedStep: 'upload', error: 'access denied' });
    expect(deriveStatus(facts({ stored: true, jobs: [{ pipeline: 'p', status: 'failed', error: 'exit code 2' }] }))).toEqual({
      status: 'failed',
      failedStep: 'job:p',
      error: 'exit code 2',
    });
  });

  it('lets a later success win over an earlier upload failure', () => {
    expect(deriveStatus(facts({ uploadFailed: 'timeout', stored: true })).status).toBe('stored');
  });

  it('counts jobs that arrived before the upload event', () => {
    expect(deriveStatus(facts({ jobs: [{ pipeline: 'p', status: 'done', error: null }] })).status).toBe('done');
  });
});

describe('nextJobStatus', () => {
  it('never moves a finished job back on late events', () => {
    expect(nextJobStatus('done', 'queued', false)).toBe('done');
    expect(nextJobStatus('done', 'processing', false)).toBe('done');
    expect(nextJobStatus('failed', 'processing', false)).toBe('failed');
  });

  it('keeps a job in processing after a failure that will be retried', () => {
    expect(nextJobStatus('processing', 'failed', false)).toBe('processing');
    expect(nextJobStatus('processing', 'failed', true)).toBe('failed');
    expect(nextJobStatus(undefined, 'queued', false)).toBe('queued');
    expect(nextJobStatus('queued', 'done', false)).toBe('done');
  });
});
