export { createUploader, type Uploader, type UploaderDeps } from './app.js';
export { memoryResumeStore, openKvResumeStore, resumeBucketName, type ResumeStore } from './adapters/resume-store.js';
export { createUploadClient, describeStoreError, S3ZoneWriter } from './adapters/s3-writer.js';
export { ContentChangedError, ContentConflictError, UploadInterruptedError, type StoreRequest, type StoreResult } from './adapters/store-request.js';
export { Sweeper, type SweepReport } from './adapters/sweeper.js';
export { openZoneWriter, type WriterOptions, type ZoneWriter } from './adapters/zone-writer.js';
export { loadConfig, type UploaderConfig } from './config.js';
export type { ZoneSettings, ZonesSetup } from './domain/zones-file.js';
