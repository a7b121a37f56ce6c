import { formatBytes, formatDuration } from '../format.js';
import type { AlertSettings } from '../settings.js';
import { componentLabels, isRetired } from './heartbeat-missing.js';
import type { ComponentState, Rule } from './types.js';

/** The floor of one volume: per volume, else per component, else per service, else the default. */
export function diskFloor(settings: AlertSettings['disk'], c: ComponentState, path: string): number {
  const { floors } = settings;
  return floors[`${c.service}/${c.instance}:${path}`] ?? floors[`${c.service}/${c.instance}`] ?? floors[c.service] ?? settings.floor;
}

/** A volume with less free space than its floor. */
export const diskLow: Rule = {
  name: 'disk_low',
  evaluate({ now, settings, snapshot }) {
    if (!settings.disk.enabled) return [];
    if (!snapshot.components) return undefined;
    return snapshot.components.flatMap((c) => {
      if (isRetired(settings.heartbeat, c, now)) return [];
      return c.disks.flatMap((d) => {
        const floor = diskFloor(settings.disk, c, d.path);
        if (d.totalBytes <= 0 || d.freeBytes >= floor) return [];
        return [
          {
            labels: { alertname: 'disk_low', severity: 'warning', ...componentLabels(c), path: d.path },
            annotations: {
              summary: `${d.path} on ${c.instance} has ${formatBytes(d.freeBytes)} free (floor ${formatBytes(floor)})`,
              description: `${formatBytes(d.freeBytes)} free of ${formatBytes(d.totalBytes)} (${((100 * d.freeBytes) / d.totalBytes).toFixed(1)}%).`,
              freeBytes: String(d.freeBytes),
              totalBytes: String(d.totalBytes),
            },
          },
        ];
      });
    });
  },
};

/**
 * A volume that will be full within the horizon at its current rate. The rate is the
 * slope of a least-squares line through the recent samples (see `disk_samples`); the
 * time left is today's free space divided by that rate, so one large file that was
 * just written moves the forecast only as much as it moves the line.
 */
export const diskFullForecast: Rule = {
  name: 'disk_full_forecast',
  evaluate({ now, settings, snapshot }) {
    const f = settings.disk.forecast;
    if (!settings.disk.enabled || !f.enabled) return [];
    if (!snapshot.components || !snapshot.diskTrends) return undefined;
    const byComponent = new Map(snapshot.components.map((c) => [`${c.service}/${c.instance}`, c]));
    return snapshot.diskTrends.flatMap((t) => {
      const c = byComponent.get(`${t.service}/${t.instance}`);
      const disk = c?.disks.find((d) => d.path === t.path);
      if (!c || !disk || isRetired(settings.heartbeat, c, now)) return [];
      if (t.samples < f.minSamples || t.lastAt - t.firstAt < f.minSpan || t.slope >= 0) return [];
      const msLeft = disk.freeBytes / -t.slope;
      if (msLeft > f.horizon) return [];
      const perHour = -t.slope * 3_600_000;
      return [
        {
          labels: { alertname: 'disk_full_forecast', severity: 'critical', ...componentLabels(c), path: t.path },
          annotations: {
            summary: `${t.path} on ${c.instance} will be full in about ${formatDuration(msLeft)}`,
            description: `${formatBytes(disk.freeBytes)} free, filling at ${formatBytes(perHour)}/h over the last ${formatDuration(t.lastAt - t.firstAt)} (${t.samples} samples).`,
            freeBytes: String(disk.freeBytes),
            bytesPerHour: String(Math.round(perHour)),
            fullAt: new Date(now + msLeft).toISOString(),
          },
        },
      ];
    });
  },
};
