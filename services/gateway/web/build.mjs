#!/usr/bin/env node
// Builds the web page into web/dist: one hashed script, one hashed stylesheet and an
// index.html that names them. The gateway serves web/dist at `/` with a fallback to
// index.html, so every asset URL here is absolute (deep links such as /files/abc work).
//
//   node web/build.mjs            production: minified, no source maps
//   node web/build.mjs --dev      readable output with inline source maps
//   node web/build.mjs --outdir=/tmp/x
import { build } from 'esbuild';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';

const webDir = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const dev = args.includes('--dev');
const outdirArg = args.find((a) => a.startsWith('--outdir='));
const outdir = resolve(outdirArg ? outdirArg.slice('--outdir='.length) : join(webDir, 'dist'));

await rm(outdir, { recursive: true, force: true });
await mkdir(join(outdir, 'assets'), { recursive: true });

const result = await build({
  entryPoints: [join(webDir, 'src', 'main.tsx')],
  outdir: join(outdir, 'assets'),
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  bundle: true,
  format: 'esm',
  target: ['es2022', 'chrome111', 'firefox111', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: !dev,
  sourcemap: dev ? 'inline' : false,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': dev ? '"development"' : '"production"' },
});

const outputs = Object.keys(result.metafile.outputs).map((p) => resolve(p));
const script = outputs.find((p) => p.endsWith('.js'));
const style = outputs.find((p) => p.endsWith('.css'));
if (!script || !style) throw new Error(`expected one .js and one .css output, got ${outputs.join(', ')}`);
const url = (file) => `/${relative(outdir, file).split('\\').join('/')}`;

// An inline icon saves a request and a 404 in the log.
const icon =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Cpath d='M1 10h14l-2 4H3z' fill='%23245fa8'/%3E%3Cpath d='M7 2v7h1V2z' fill='%23245fa8'/%3E%3Cpath d='M8 3l4 5H8z' fill='%23e58a1f'/%3E%3C/svg%3E";

const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ferry</title>
<link rel="icon" href="${icon}">
<link rel="stylesheet" href="${url(style)}">
<script type="module" src="${url(script)}"></script>
</head>
<body>
<div id="app"><p class="boot">Loading Ferry…</p></div>
<noscript>Ferry's web page needs JavaScript.</noscript>
</body>
</html>
`;
await writeFile(join(outdir, 'index.html'), html);

const size = (file) => {
  const bytes = readFileSync(file);
  return `${(bytes.length / 1024).toFixed(1)} KiB (${(gzipSync(bytes).length / 1024).toFixed(1)} KiB gzipped)`;
};
console.log(`web: ${relative(process.cwd(), outdir) || '.'}/index.html`);
console.log(`web: ${basename(script)} ${size(script)}`);
console.log(`web: ${basename(style)} ${size(style)}`);
