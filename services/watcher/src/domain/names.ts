import { sep } from 'node:path';

/** A path relative to the instrument folder with forward slashes, as events carry it. */
export function toEventPath(relative: string): string {
  return relative.split(/[\\/]+/).filter(Boolean).join('/');
}

/** The last segment of a relative path. */
export function baseName(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? rel : rel.slice(slash + 1);
}

/** `dir/name` for relative paths, where the root is ''. */
export function joinRel(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

/** A relative event path as a path of this operating system. */
export function toSystemPath(rel: string): string {
  return sep === '/' ? rel : rel.split('/').join(sep);
}
