import { fileURLToPath } from 'node:url';

/** The repository's root and its deploy/ folder, from this package's place in it. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const deployDir = fileURLToPath(new URL('../../../deploy/', import.meta.url));
