// Builds the shipped browser files from the optimized wasm (embedded in each), wasm-bindgen's
// glue (build/wb/) and js/:
//   dist/kloudless.authenticator.js         classic script for a <script> tag (IIFE)
//   build/npm/                              the npm package (js/package.json):
//     index.js (ES module), launcher.js, react.js, vue.js, kloudless.authenticator.js, *.d.ts
//   dist/kloudless-authenticator-<v>.tgz    that package, packed by `npm pack`
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

// The wasm is embedded as a string of one character per byte, decoded on first use: it gzips
// a fifth smaller than base64, and bundlers (Vite, webpack 5) need no plugin or config for it.
// esbuild sees a placeholder; the string goes in afterwards as a template literal with only `,
// \, $ and CR escaped (esbuild would escape more, which gzips worse). The files start with a
// UTF-8 byte order mark, which makes browsers decode them as UTF-8 whatever the including
// page's encoding.
const WASM = 'build/kloudless_authenticator.wasm';
const PLACEHOLDER = 'KLOUDLESS_WASM_BYTES';
const wasmAsString = {
  name: 'wasm-as-string',
  setup(context) {
    context.onLoad({ filter: /\.wasm$/ }, () => ({
      loader: 'js',
      // A plain loop: Uint8Array.from with a map function takes 4x as long on a cold page.
      contents: `export default () => {
        const text = ${JSON.stringify(PLACEHOLDER)};
        const bytes = new Uint8Array(text.length);
        for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
        return bytes;
      };`,
    }));
  },
};
const escapes = { 0x60: '\\`', 0x5c: '\\\\', 0x24: '\\$', 0x0d: '\\r' };
let literal = '`';
for (const byte of readFileSync(WASM)) literal += escapes[byte] ?? String.fromCharCode(byte);
literal += '`';
const embed = (code) => {
  const parts = code.split(JSON.stringify(PLACEHOLDER));
  if (parts.length !== 2) throw new Error(`expected one wasm placeholder, found ${parts.length - 1}`);
  return parts[0] + literal + parts[1];
};

const common = {
  bundle: true, minify: true, logLevel: 'warning', legalComments: 'none', charset: 'utf8',
  plugins: [wasmAsString],
  target: ['es2020'],
  // The glue's asynchronous init would fetch the wasm next to it (`new URL(…, import.meta.url)`,
  // which bundlers such as Vite follow as an asset); the module is embedded and instantiated
  // with initSync instead, so that path is cut.
  define: { 'import.meta.url': 'undefined' },
};
const npm = 'build/npm';
rmSync(npm, { recursive: true, force: true });
mkdirSync(npm, { recursive: true });
const outputs = [
  { entryPoints: ['js/script.js'], format: 'iife', outfile: 'dist/kloudless.authenticator.js' },
  { entryPoints: ['js/index.js'], format: 'esm', outfile: `${npm}/index.js` },
];
for (const output of outputs) {
  await build({ ...common, ...output });
  writeFileSync(output.outfile, '\uFEFF' + embed(readFileSync(output.outfile, 'utf8')));
}
// The bindings import './index.js' and 'react'/'vue' (peer dependencies): shipped as written.
const asWritten = ['launcher.js', 'react.js', 'vue.js', 'index.d.ts', 'react.d.ts', 'vue.d.ts', 'script.d.ts',
  'package.json'];
for (const file of asWritten) copyFileSync(`js/${file}`, `${npm}/${file}`);
copyFileSync('dist/kloudless.authenticator.js', `${npm}/kloudless.authenticator.js`);
copyFileSync('README.md', `${npm}/README.md`);
copyFileSync('LICENSE', `${npm}/LICENSE`);
const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', '../../dist'],
  { cwd: npm, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }))[0];

const report = (file) => `${file}: ${readFileSync(file).length} bytes, ${execFileSync('gzip', ['-9c', file]).length} bytes gzip -9`;
console.log(report('dist/kloudless.authenticator.js'));
console.log(report(`${npm}/index.js`));
console.log(`dist/${packed.filename}: ${packed.size} bytes, ${packed.entryCount} files`);
