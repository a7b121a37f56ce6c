export { Projection, type ProjectionOptions } from './adapters/projection.js';
export { AlertEngine, type AlertingOptions, type EvaluationReport } from './alerting.js';
export { createMonitor, type Monitor, type MonitorDeps } from './app.js';
export { ALERT_ENV, loadAlertSettings, loadConfig, type MonitorConfig } from './config.js';
export { formatMatcher, parseMatcher, type Labels, type Matcher } from './domain/labels.js';
export { alertSettingsSchema, defaultAlertSettings, type AlertSettings, type AlertSettingsInput } from './domain/settings.js';
export { slackBody, teamsBody, webhookBody, type AlertmanagerWebhookBody, type Receiver, type ReceiverKind } from './notifiers/index.js';
export { createSilence, expireSilence, listSilences, type NewSilence, type Silence } from './silences.js';
