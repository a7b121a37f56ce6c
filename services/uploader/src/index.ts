export { createUploader, type Uploader, type UploaderDeps } from './app.js';
export { ContentChangedError, ContentConflictError, openZoneWriter, type StoreRequest, type StoreResult, type ZoneWriter } from './adapters/zone-writer.js';
export { loadConfig, type UploaderConfig } from './config.js';
