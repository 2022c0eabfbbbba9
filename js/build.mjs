// Bundles the wasm-bindgen output into the two shipped files (wasm embedded in each):
//   dist/kloudless.authenticator.js   classic script for a <script> tag (IIFE)
//   dist/esm/index.js (+ index.d.ts)  ES module for bundlers
import { build } from 'esbuild';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

// The wasm is embedded as a string of one character per byte, decoded on first use: it gzips
// ~20% smaller than base64. The files start with a UTF-8 byte order mark, which makes browsers
// decode them as UTF-8 whatever the including page's encoding.
const wasmAsString = {
  name: 'wasm-as-string',
  setup(context) {
    context.onLoad({ filter: /\.wasm$/ }, ({ path }) => {
      let text = '';
      for (const byte of readFileSync(path)) text += String.fromCharCode(byte);
      return {
        loader: 'js',
        contents: `export default () => Uint8Array.from(${JSON.stringify(text)}, (c) => c.charCodeAt(0));`,
      };
    });
  },
};

const common = {
  bundle: true, minify: true, logLevel: 'warning', legalComments: 'none', charset: 'utf8',
  plugins: [wasmAsString],
  target: ['es2020'],
  // The glue's async loader (never used: we init synchronously from the embedded bytes) has a
  // `new URL('…_bg.wasm', import.meta.url)` that bundlers would try to resolve: take it out.
  define: { 'import.meta.url': 'undefined' },
};
const outputs = [
  { entryPoints: ['js/script.js'], format: 'iife', outfile: 'dist/kloudless.authenticator.js' },
  { entryPoints: ['js/index.js'], format: 'esm', outfile: 'dist/esm/index.js' },
];
for (const output of outputs) {
  await build({ ...common, ...output });
  writeFileSync(output.outfile, '\uFEFF' + readFileSync(output.outfile, 'utf8'));
}
copyFileSync('js/index.d.ts', 'dist/esm/index.d.ts');

const file = 'dist/kloudless.authenticator.js';
const gzip = execFileSync('gzip', ['-9c', file]).length;
console.log(`${file}: ${readFileSync(file).length} bytes, ${gzip} bytes gzip -9`);
