/**
 * Names for downloaded content. Objects are stored under their hash, so the name a
 * browser saves must come from the file's path, sent in `Content-Disposition`.
 */

/**
 * The name to save a file as: the last segment of its path. A folder acquisition is
 * served as its manifest (the folder's content address), so its name says so.
 */
export function downloadName(path: string, kind: 'file' | 'folder'): string {
  const base = path.split(/[\\/]/).filter((s) => s !== '').pop() ?? 'download';
  return kind === 'folder' ? `${base}.manifest.json` : base;
}

/**
 * An RFC 6266 `attachment` header: a plain ASCII `filename` for old clients and an
 * RFC 8187 `filename*` with the exact UTF-8 name for the others.
 */
export function attachmentDisposition(name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const exact = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return fallback === name ? `attachment; filename="${name}"` : `attachment; filename="${fallback}"; filename*=UTF-8''${exact}`;
}
