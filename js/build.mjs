// Bundles the wasm-bindgen output into the two shipped files (wasm embedded in each):
//   dist/kloudless.authenticator.js   classic script for a <script> tag (IIFE)
//   dist/esm/index.js (+ index.d.ts)  ES module for bundlers
import { build } from 'esbuild';
import { copyFileSync, readFileSync } from 'node:fs';
import { gzipSync, constants } from 'node:zlib';

const common = {
  bundle: true, minify: true, loader: { '.wasm': 'binary' }, logLevel: 'warning', legalComments: 'none',
  // Browsers from 2020 on (and Node 20): esbuild then decodes the embedded wasm itself rather
  // than with the very new Uint8Array.fromBase64.
  target: ['es2020'],
  // The glue's async loader (never used: we init synchronously from the embedded bytes) has a
  // `new URL('…_bg.wasm', import.meta.url)` that bundlers would try to resolve: take it out.
  define: { 'import.meta.url': 'undefined' },
};
await build({ ...common, entryPoints: ['js/script.js'], format: 'iife', outfile: 'dist/kloudless.authenticator.js' });
await build({ ...common, entryPoints: ['js/index.js'], format: 'esm', outfile: 'dist/esm/index.js' });
copyFileSync('js/index.d.ts', 'dist/esm/index.d.ts');

const script = readFileSync('dist/kloudless.authenticator.js');
const gzip = gzipSync(script, { level: constants.Z_BEST_COMPRESSION }).length;
console.log(`dist/kloudless.authenticator.js: ${script.length} bytes, ${gzip} bytes gzip -9`);
