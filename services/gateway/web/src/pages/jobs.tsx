import { useState } from 'preact/hooks';
import { api, type JobItem } from '../api.js';
import { formatBytes, formatCount, formatDuration, formatTime, parseTime } from '../format.js';
import { useApi, useTitle } from '../hooks.js';
import { useCan } from '../session.js';
import { Age, Badge, Empty, ErrorBox, Loading, Notice, PageHeader } from '../ui/common.js';

/** Open jobs of one pipeline. */
interface PipelineSummary {
  pipeline: string;
  queued: number;
  processing: number;
  failed: number;
}

/** A job with the file it processes. */
interface JobRow extends JobItem {
  fileId: string;
  instrument: string | null;
  path: string | null;
}

interface JobsAnswer {
  items: JobRow[];
  nextCursor: string | null;
  pipelines: PipelineSummary[];
}

interface BackupItem {
  id: string;
  database: string;
  zone: string;
  key: string;
  size: number;
  sha256: string;
  verified: boolean;
  error: string | null;
  tables: Record<string, { source: number; restored: number }>;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
}

interface BackupsAnswer {
  items: BackupItem[];
  lastVerifiedAt: string | null;
}

export function JobsPage() {
  const failed = useApi<JobsAnswer>('/jobs?status=failed&limit=100', { refreshMs: 15_000 });
  const recent = useApi<JobsAnswer>('/jobs?limit=20', { refreshMs: 15_000 });
  const backups = useApi<BackupsAnswer>('/backups?limit=20', { refreshMs: 60_000 });
  const canOperate = useCan('operator');
  const [notice, setNotice] = useState<string | undefined>();
  const [actionError, setActionError] = useState<unknown>();
  const [busy, setBusy] = useState<string | undefined>();

  useTitle('Jobs & backups · Ferry');

  const queues = failed.data?.pipelines ?? recent.data?.pipelines ?? [];
  const failures = failed.data?.items ?? [];

  const retry = async (j: JobRow) => {
    setBusy(j.id);
    setActionError(undefined);
    try {
      await api(`/files/${encodeURIComponent(j.fileId)}/retry`, { method: 'POST', body: {} });
      setNotice(`Retry of ${j.path ?? j.fileId} (${j.pipeline}) requested.`);
      failed.reload();
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(undefined);
    }
  };

  const backUpNow = async () => {
    setBusy('backup');
    setActionError(undefined);
    try {
      await api('/backups', { method: 'POST', body: {} });
      setNotice('Backup requested. It appears below when the scheduler has run and verified it.');
      setTimeout(backups.reload, 3000);
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(undefined);
    }
  };

  const backupItems = backups.data?.items ?? [];

  return (
    <div class="page">
      <PageHeader title="Jobs & backups" sub="Processing queues, what failed and why, and the database backups." />
      {notice && <Notice>{notice}</Notice>}
      <ErrorBox error={actionError} title="That did not work" />

      <section class="card">
        <h2>Queues</h2>
        <ErrorBox error={failed.error} title="Could not load jobs" />
        {failed.data === undefined && !failed.error ? (
          <Loading what="queues" />
        ) : queues.length === 0 ? (
          <Empty>No open jobs: nothing queued, running or failed.</Empty>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Pipeline</th>
                <th class="num">Queued</th>
                <th class="num">Running</th>
                <th class="num">Failed</th>
                <th class="pile">Open jobs</th>
              </tr>
            </thead>
            <tbody>
              {queues.map((q) => {
                const open = q.queued + q.processing + q.failed;
                return (
                  <tr key={q.pipeline}>
                    <td>{q.pipeline}</td>
                    <td class="num">{formatCount(q.queued)}</td>
                    <td class="num">{formatCount(q.processing)}</td>
                    <td class={`num ${q.failed > 0 ? 'crit-text' : ''}`}>{formatCount(q.failed)}</td>
                    <td class="pile">
                      <div class="pile-bars" title={`${open} open`}>
                        {(['queued', 'processing', 'failed'] as const).map((s) =>
                          q[s] > 0 ? <span key={s} class={`pile-bar badge-${s}`} style={{ width: `${Math.max(2, (q[s] / Math.max(1, open)) * 100)}%` }} title={`${s}: ${q[s]}`} /> : null,
                        )}
                      </div>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>

      <section class="card">
        <h2>Failures</h2>
        {failed.data && failures.length === 0 ? (
          <Empty>No failed jobs.</Empty>
        ) : (
          <table>
            <thead>
              <tr>
                <th>File</th>
                <th>Pipeline</th>
                <th class="num">Attempt</th>
                <th>Failed</th>
                <th>Reason</th>
                {canOperate && <th />}
              </tr>
            </thead>
            <tbody>
              {failures.map((j) => (
                <tr key={j.id}>
                  <td class="path">
                    <a href={`/files/${encodeURIComponent(j.fileId)}`}>{j.path ?? j.fileId}</a>
                    {j.instrument && <div class="muted small">{j.instrument}</div>}
                  </td>
                  <td>{j.pipeline}</td>
                  <td class="num">{j.attempt}</td>
                  <td>
                    <Age at={j.finishedAt ?? j.updatedAt} />
                  </td>
                  <td class="error-text">
                    {j.error ?? 'no reason recorded'}
                    {j.exitCode !== null && j.exitCode !== undefined && j.exitCode !== 0 ? ` (exit ${j.exitCode})` : ''}
                  </td>
                  {canOperate && (
                    <td>
                      <button type="button" class="btn-small" disabled={busy === j.id} onClick={() => void retry(j)}>
                        {busy === j.id ? 'Retrying…' : 'Retry'}
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section class="card">
        <h2>Latest activity</h2>
        <ErrorBox error={recent.error} title="Could not load jobs" />
        {!recent.data ? (
          !recent.error && <Loading what="jobs" />
        ) : recent.data.items.length === 0 ? (
          <Empty>No processing jobs yet.</Empty>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Status</th>
                <th>File</th>
                <th>Pipeline</th>
                <th class="num">Attempt</th>
                <th>Ran</th>
                <th>Changed</th>
              </tr>
            </thead>
            <tbody>
              {recent.data.items.map((j) => {
                const s = parseTime(j.startedAt);
                const e = parseTime(j.finishedAt);
                return (
                  <tr key={j.id}>
                    <td>
                      <Badge status={j.status} />
                    </td>
                    <td class="path">
                      <a href={`/files/${encodeURIComponent(j.fileId)}`}>{j.path ?? j.fileId}</a>
                    </td>
                    <td>{j.pipeline}</td>
                    <td class="num">{j.attempt}</td>
                    <td>{s !== undefined && e !== undefined ? formatDuration(e - s) : s !== undefined ? 'running' : '—'}</td>
                    <td>
                      <Age at={j.updatedAt} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>

      <section class="card">
        <div class="section-head">
          <h2>
            Backups
            <span class="muted small">
              {' '}
              · last verified {backups.data?.lastVerifiedAt ? <Age at={backups.data.lastVerifiedAt} /> : 'never'}
            </span>
          </h2>
          {canOperate && (
            <button type="button" class="primary" disabled={busy === 'backup'} onClick={() => void backUpNow()}>
              {busy === 'backup' ? 'Requesting…' : 'Back up now'}
            </button>
          )}
        </div>
        <ErrorBox error={backups.error} title="Could not load backups" />
        {!backups.data && !backups.error ? (
          <Loading what="backups" />
        ) : backupItems.length === 0 ? (
          <Empty>No backup has run yet.</Empty>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Finished</th>
                <th>Database</th>
                <th class="num">Size</th>
                <th>Took</th>
                <th>Verified</th>
                <th>Where</th>
              </tr>
            </thead>
            <tbody>
              {backupItems.map((b) => {
                const tables = Object.entries(b.tables);
                return (
                  <tr key={b.id}>
                    <td title={formatTime(b.finishedAt)}>
                      <Age at={b.finishedAt} />
                    </td>
                    <td>{b.database}</td>
                    <td class="num">{formatBytes(b.size)}</td>
                    <td>{formatDuration(b.durationMs)}</td>
                    <td>
                      {b.verified && !b.error ? (
                        <span title={tables.map(([t, c]) => `${t}: ${c.restored}/${c.source}`).join('\n')}>
                          <Badge status="verified" /> <span class="muted small">{tables.length} tables restored</span>
                        </span>
                      ) : (
                        <>
                          <Badge status="failed" /> <span class="error-text">{b.error ?? 'not verified'}</span>
                        </>
                      )}
                    </td>
                    <td>
                      <code class="small">
                        {b.zone}:{b.key}
                      </code>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
