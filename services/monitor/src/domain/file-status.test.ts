import { describe, expect, it } from 'vitest';
import { deriveJob, deriveStatus, type FileFacts, type JobEvent } from './file-status.js';

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

const at = (s: number) => new Date(Date.UTC(2026, 10, 1, 12, 0, s)).toISOString();

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

describe('deriveJob', () => {
  const retried: JobEvent[] = [
    { event: 'job.queued', attempt: 1, at: at(1) },
    { event: 'job.started', attempt: 1, at: at(2) },
    { event: 'job.failed', attempt: 1, at: at(3), exitCode: 1, error: 'exit code 1', final: false },
    { event: 'job.started', attempt: 2, at: at(4) },
    { event: 'job.done', attempt: 2, at: at(5), exitCode: 0 },
  ];

  it('gives the same row for every order of the same events', () => {
    const expected = deriveJob(retried);
    expect(expected).toEqual({ status: 'done', attempt: 2, exitCode: 0, error: null, queuedAt: at(1), startedAt: at(4), finishedAt: at(5), updatedAt: at(5) });
    for (const order of permutations(retried)) expect(deriveJob(order)).toEqual(expected);
  });

  it('never moves a finished job back on late events', () => {
    expect(deriveJob([retried[4]!, retried[0]!]).status).toBe('done');
    const failed: JobEvent = { event: 'job.failed', attempt: 3, at: at(9), exitCode: 2, error: 'exit code 2', final: true };
    expect(deriveJob([failed, retried[1]!]).status).toBe('failed');
  });

  it('keeps a job in processing after a failure that will be retried', () => {
    expect(deriveJob(retried.slice(0, 3))).toMatchObject({ status: 'processing', exitCode: 1, error: 'exit code 1', finishedAt: null });
    expect(deriveJob(retried.slice(0, 1)).status).toBe('queued');
  });

  it('fails for good on a final failure, and processes again when a later attempt starts', () => {
    const final: JobEvent = { event: 'job.failed', attempt: 1, at: at(3), exitCode: 2, error: 'boom', final: true };
    expect(deriveJob([retried[0]!, retried[1]!, final])).toMatchObject({ status: 'failed', error: 'boom', finishedAt: at(3) });
    expect(deriveJob([retried[0]!, final, { event: 'job.started', attempt: 2, at: at(8) }]).status).toBe('processing');
  });
});
