export { withServers as default } from '../../vitest.shared.js';
