const UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  m: 1e6,
  g: 1e9,
  ki: 1024,
  mi: 1024 ** 2,
  gi: 1024 ** 3,
};

/**
 * Parses a rate in bytes per second: `50MB/s`, `200M`, `1.5GiB/s`, `800k`, `1048576`.
 * K/M/G are decimal (as link speeds are sold), Ki/Mi/Gi binary; bits are not accepted
 * because a limit off by a factor of eight is worse than a refused setting.
 */
export function parseBytesPerSecond(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${value} is not a positive rate in bytes per second`);
    return Math.floor(value);
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?)?b?\s*(?:\/\s*s)?\s*$/i.exec(value);
  if (!match) throw new Error(`"${value}" is not a rate such as 50MB/s, 200M, 1.5GiB/s or 800k (bytes per second)`);
  const factor = UNITS[(match[2] ?? '').toLowerCase()] ?? 1;
  const bytes = Math.floor(Number(match[1]) * factor);
  if (bytes <= 0) throw new Error(`"${value}" is not a positive rate`);
  return bytes;
}
