// Bundles the wasm-bindgen output into the two shipped files (wasm embedded in each):
//   dist/kloudless.authenticator.js   classic script for a <script> tag (IIFE)
//   dist/esm/index.js                 ES module for bundlers
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { gzipSync, constants } from 'node:zlib';

const common = { bundle: true, minify: true, loader: { '.wasm': 'binary' }, logLevel: 'warning', legalComments: 'none' };
await build({ ...common, entryPoints: ['js/script.js'], format: 'iife', outfile: 'dist/kloudless.authenticator.js',
  // The glue's async loader (never used: we init synchronously) mentions import.meta.url.
  define: { 'import.meta.url': 'undefined' } });
await build({ ...common, entryPoints: ['js/index.js'], format: 'esm', outfile: 'dist/esm/index.js' });

const script = readFileSync('dist/kloudless.authenticator.js');
const gzip = gzipSync(script, { level: constants.Z_BEST_COMPRESSION }).length;
console.log(`dist/kloudless.authenticator.js: ${script.length} bytes, ${gzip} bytes gzip -9`);
