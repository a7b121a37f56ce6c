import { counter, gauge, histogram } from '@ferry/common';

// The uploader's Prometheus metrics, by zone (a configured name, so the label stays
// bounded). The names are the ones the Grafana dashboard queries.

/** Seconds buckets for one upload: 10 ms for a small file to an hour for a large one on a slow link. */
const UPLOAD_BUCKETS = [0.01, 0.05, 0.25, 1, 2.5, 5, 10, 30, 60, 180, 600, 1800, 3600];


export const uploaderMetrics = {
  bytes: counter('ferry_upload_bytes_total', 'Bytes of content stored, by zone (content already in the zone is not counted).', ['zone']),
  seconds: histogram('ferry_upload_duration_seconds', 'Time to store one acquisition, from its upload slot to verified in the zone, by zone.', ['zone'], UPLOAD_BUCKETS),
  uploads: counter('ferry_uploads_total', 'Upload tries by zone and outcome: stored, skipped_existing (already in the zone), retried (failed, will be tried again), failed (for good).', ['zone', 'outcome']),
  inFlight: gauge('ferry_uploads_in_flight', 'Uploads sending bytes right now, by zone.', ['zone']),
};
