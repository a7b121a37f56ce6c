import { useState } from 'preact/hooks';
import { api, ApiError, type FileDetail, type FileItem, type JobItem, type ManifestEntry, type TimelineEntry } from '../api.js';
import { baseName, formatBytes, formatDetail, formatDuration, formatTime, parseTime } from '../format.js';
import { useApi, useCoalesced, useTitle } from '../hooks.js';
import { useLiveEvent } from '../live.js';
import { useCan } from '../session.js';
import { Age, Badge, CopyButton, Empty, ErrorBox, Loading, Notice } from '../ui/common.js';

const STORED = new Set(['stored', 'queued', 'processing', 'done']);

/** Events as a person would name the step. */
const EVENT_NAMES: Record<string, string> = {
  'file.detected': 'Detected and hashed',
  'upload.started': 'Upload started',
  'upload.done': 'Stored',
  'upload.failed': 'Upload failed',
  'job.queued': 'Job queued',
  'job.started': 'Job started',
  'job.done': 'Job done',
  'job.failed': 'Job failed',
  'job.skipped': 'No pipeline matched',
  'command.retry': 'Retry requested',
};

export function FilePage(props: { id: string }) {
  const { id } = props;
  const file = useApi<FileDetail>(`/files/${encodeURIComponent(id)}`);
  const canOperate = useCan('operator');
  const [retrying, setRetrying] = useState(false);
  const [actionError, setActionError] = useState<unknown>();
  const [notice, setNotice] = useState<string | undefined>();
  const [changed, setChanged] = useState(false);
  const reloadSoon = useCoalesced(file.reload, 300);

  useTitle(`${file.data ? baseName(file.data.path) : id} · Ferry`);

  // A live change shows at once in the header; the timeline follows with one refetch.
  useLiveEvent<FileItem>('file', (item) => {
    if (item?.id !== id) return;
    file.setData((old) => (old ? { ...old, ...item } : old));
    setChanged(true);
    setTimeout(() => setChanged(false), 2500);
    reloadSoon();
  });
  useLiveEvent('resync', () => file.reload());

  const retry = async () => {
    setRetrying(true);
    setActionError(undefined);
    setNotice(undefined);
    try {
      await api(`/files/${encodeURIComponent(id)}/retry`, { method: 'POST', body: {} });
      setNotice(
        file.data?.failedStep === 'upload'
          ? 'Upload retry requested. The file goes back to its upload; it turns stored when that succeeds, or shows the new reason.'
          : 'Retry requested. The status changes here when the step runs again.',
      );
      file.reload();
    } catch (err) {
      setActionError(err);
    } finally {
      setRetrying(false);
    }
  };

  if (file.error && !file.data) {
    const gone = file.error instanceof ApiError && file.error.status === 404;
    return (
      <div class="page">
        <p class="crumbs">
          <a href="/files">← Files</a>
        </p>
        <ErrorBox error={file.error} title={gone ? 'No such file' : 'Could not load the file'} />
      </div>
    );
  }
  if (!file.data) return <Loading what="the file" />;
  const f = file.data;
  const stored = STORED.has(f.status) && f.key !== null;
  // Uploads (by an uploader) and processing jobs (by the scheduler) are retried on command.
  const retryable = f.status === 'failed' && (f.failedStep === 'upload' || (f.failedStep ?? '').startsWith('job:'));
  const timeline = [...(f.timeline ?? [])].sort((a, b) => (parseTime(a.at) ?? 0) - (parseTime(b.at) ?? 0));
  const first = parseTime(timeline[0]?.at ?? f.detectedAt);
  const last = parseTime(timeline[timeline.length - 1]?.at ?? f.updatedAt);

  return (
    <div class="page">
      <p class="crumbs">
        <a href={`/files?instrument=${encodeURIComponent(f.instrument)}`}>← Files of {f.instrument}</a>
      </p>
      <div class="page-header">
        <div>
          <h1 class="file-title" title={f.path}>
            {baseName(f.path)}
          </h1>
          <p class="sub">
            <span class="mono">{f.path}</span> on <strong>{f.instrument}</strong> · {formatBytes(f.size)}
            {f.kind === 'folder' ? ' · folder' : ''}
          </p>
        </div>
        <div class="actions">
          <span class={changed ? 'flash-inline' : undefined} data-testid="file-status">
            <Badge status={f.status} />
          </span>
          {stored ? (
            <a class="button primary" href={`/api/v1/files/${encodeURIComponent(f.id)}/content`} download={baseName(f.path)}>
              Download
            </a>
          ) : (
            <button type="button" disabled title="Available once the file is stored">
              Download
            </button>
          )}
          {retryable && canOperate && (
            <button type="button" class="danger" onClick={() => void retry()} disabled={retrying}>
              {retrying ? 'Retrying…' : 'Retry'}
            </button>
          )}
        </div>
      </div>
      <ErrorBox error={actionError} title="Retry failed" />
      {notice && <Notice>{notice}</Notice>}
      {file.error !== undefined && <ErrorBox error={file.error} title="Could not refresh" />}
      {f.status === 'failed' && (
        <div class="failure">
          <strong>Failed{f.failedStep ? ` at ${f.failedStep}` : ''}.</strong> {f.error ?? 'No reason was recorded.'}
          {retryable && !canOperate && <span class="muted"> An operator can retry it.</span>}
          {!retryable && <span class="muted"> Only uploads and processing jobs can be retried from here: fix the cause, then announce the file again.</span>}
        </div>
      )}

      <div class="two-col">
        <section class="card">
          <h2>Details</h2>
          <dl class="facts">
            <dt>Status</dt>
            <dd>
              <Badge status={f.status} /> <span class="muted">since </span>
              <Age at={f.updatedAt} />
            </dd>
            <dt>SHA-256</dt>
            <dd class="copyable">
              <code class="hash">{f.sha256}</code>
              <CopyButton value={f.sha256} label="SHA-256" />
            </dd>
            <dt>Zone</dt>
            <dd>{f.zone ?? <span class="muted">not stored yet</span>}</dd>
            <dt>Key</dt>
            <dd class="copyable">
              {f.key ? (
                <>
                  <code class="hash">{f.key}</code>
                  <CopyButton value={f.key} label="key" />
                </>
              ) : (
                <span class="muted">not stored yet</span>
              )}
            </dd>
            <dt>Trace id</dt>
            <dd class="copyable">
              {f.traceId ? (
                <>
                  <code class="hash">{f.traceId}</code>
                  <CopyButton value={f.traceId} label="trace id" />
                </>
              ) : (
                <span class="muted">none recorded</span>
              )}
            </dd>
            <dt>Detected</dt>
            <dd>
              {formatTime(f.detectedAt)} <span class="muted">(</span>
              <Age at={f.detectedAt} />
              <span class="muted">)</span>
            </dd>
            <dt>Stored</dt>
            <dd>{f.storedAt ? formatTime(f.storedAt) : <span class="muted">—</span>}</dd>
            <dt>File id</dt>
            <dd>
              <code>{f.id}</code>
            </dd>
          </dl>
        </section>

        <section class="card">
          <h2>
            Timeline
            {first !== undefined && last !== undefined && timeline.length > 1 && <span class="muted small"> · {formatDuration(last - first)} in all</span>}
          </h2>
          {timeline.length === 0 ? <Empty>No steps recorded yet.</Empty> : <Timeline entries={timeline} />}
        </section>
      </div>

      {f.manifest && f.manifest.length > 0 && <Manifest entries={f.manifest} />}

      <section class="card">
        <h2>Processing jobs</h2>
        {(f.jobs ?? []).length === 0 ? <Empty>No jobs for this file{f.status === 'done' ? ': no pipeline rule matched it' : ' yet'}.</Empty> : <Jobs jobs={f.jobs} />}
      </section>
    </div>
  );
}

function Timeline(props: { entries: TimelineEntry[] }) {
  return (
    <ol class="timeline">
      {props.entries.map((e, i) => {
        const prev = props.entries[i - 1];
        const took = e.sincePreviousMs ?? (prev ? (parseTime(e.at) ?? 0) - (parseTime(prev.at) ?? 0) : undefined);
        const details = Object.entries(e.details ?? {}).filter(([, v]) => v !== null && v !== undefined && typeof v !== 'object');
        return (
          <li key={`${e.event}-${e.at}-${i}`} class={`step step-${e.status ?? 'none'}`}>
            <div class="step-head">
              <span class="step-name">{EVENT_NAMES[e.event] ?? e.event}</span>
              {e.status && <Badge status={e.status} />}
              {took !== undefined && (
                <span class="took" title="Time since the previous step">
                  +{formatDuration(took)}
                </span>
              )}
            </div>
            <div class="step-meta">
              <time dateTime={e.at}>{formatTime(e.at)}</time>
              {e.instance && <span> · {e.instance}</span>}
              <span class="muted"> · {e.event}</span>
            </div>
            {details.length > 0 && (
              <div class="step-details">
                {details.map(([k, v]) => (
                  <span key={k}>
                    {k}: <code>{typeof v === 'string' && /At$/.test(k) ? formatTime(v) : formatDetail(k, v)}</code>
                  </span>
                ))}
              </div>
            )}
          </li>
        );
      })}
    </ol>
  );
}

function Jobs(props: { jobs: JobItem[] }) {
  return (
    <table>
      <thead>
        <tr>
          <th>Pipeline</th>
          <th>Status</th>
          <th class="num">Attempt</th>
          <th>Waited</th>
          <th>Ran</th>
          <th>Finished</th>
          <th>Error</th>
        </tr>
      </thead>
      <tbody>
        {props.jobs.map((j) => {
          const q = parseTime(j.queuedAt);
          const s = parseTime(j.startedAt);
          const e = parseTime(j.finishedAt);
          return (
            <tr key={j.id}>
              <td>{j.pipeline}</td>
              <td>
                <Badge status={j.status} />
              </td>
              <td class="num">{j.attempt}</td>
              <td>{q !== undefined && s !== undefined ? formatDuration(s - q) : '—'}</td>
              <td>{s !== undefined && e !== undefined ? formatDuration(e - s) : s !== undefined ? 'running' : '—'}</td>
              <td>
                <Age at={j.finishedAt} />
              </td>
              <td class="error-text">
                {j.error ?? ''}
                {j.exitCode !== null && j.exitCode !== 0 ? ` (exit ${j.exitCode})` : ''}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** The members of a folder acquisition; long folders show the first 200. */
function Manifest(props: { entries: ManifestEntry[] }) {
  const shown = props.entries.slice(0, 200);
  const total = props.entries.reduce((n, e) => n + e.size, 0);
  return (
    <section class="card">
      <h2>
        Folder contents{' '}
        <span class="muted small">
          · {props.entries.length.toLocaleString('en-US')} files, {formatBytes(total)}
        </span>
      </h2>
      <table>
        <thead>
          <tr>
            <th>Path</th>
            <th class="num">Size</th>
            <th>SHA-256</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((e) => (
            <tr key={e.path}>
              <td class="path mono">{e.path}</td>
              <td class="num">{formatBytes(e.size)}</td>
              <td>
                <code title={e.sha256}>{e.sha256.slice(0, 16)}…</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {props.entries.length > shown.length && <p class="fine">and {props.entries.length - shown.length} more.</p>}
    </section>
  );
}
