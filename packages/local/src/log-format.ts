const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const SKIP = new Set(['level', 'time', 'msg', 'service', 'instance', 'pid', 'hostname', 'span_id', 'config']);

/**
 * One pino JSON line as a short human line for the terminal:
 * `12:00:01 uploader  info  stored key=sha256/...`. Lines that are not JSON pass through.
 */
export function formatLogLine(service: string, line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `${service.padEnd(9)} ${line}`;
  }
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 19) : '';
  const level = LEVELS[Number(entry.level)] ?? String(entry.level);
  const fields = Object.entries(entry)
    .filter(([k, v]) => !SKIP.has(k) && v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${time} ${service.padEnd(9)} ${level.padEnd(5)} ${typeof entry.msg === 'string' ? entry.msg : ''}${fields ? `  ${fields}` : ''}`;
}
