import type { StateStore } from '../adapters/state-store.js';
import { defineRoute, type ApiRoute } from './routes.js';
import { componentSchema, instrumentSchema, itemsOf } from './schemas.js';

/** `/instruments` and `/components`: who is alive, how full, what piles up. */
export function stateRoutes(deps: { state: StateStore }): ApiRoute[] {
  const { state } = deps;
  return [
    defineRoute({
      method: 'get',
      path: '/instruments',
      tag: 'state',
      summary: 'Instruments: files per status, last detection, watcher heartbeats',
      description: 'The counts read the whole files table, so they are computed at most every 5 s and shared; heartbeats are current.',
      access: 'viewer',
      responses: { 200: { description: 'Every instrument with files or a watcher, by name.', schema: itemsOf(instrumentSchema) } },
      async handle({ res }) {
        res.json({ items: await state.instruments() });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/components',
      tag: 'state',
      summary: 'Components: heartbeat age, stale flag, disks with a full-forecast',
      description: 'A component is stale after three missed heartbeats. A disk forecast is a least-squares line through the last 6 h of samples (null until 4 samples span 30 min).',
      access: 'viewer',
      responses: { 200: { description: 'Every component that ever sent a heartbeat, by service and instance.', schema: itemsOf(componentSchema) } },
      async handle({ res }) {
        res.json({ items: await state.components() });
      },
    }),
  ];
}
