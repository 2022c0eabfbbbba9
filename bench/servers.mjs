// The bench's two servers: the real API server binary (with --latency-ms) on 127.0.0.1, and a
// small static server for the app pages, reached as http://localhost:<port> (another origin).
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const benchDir = dirname(fileURLToPath(import.meta.url));
export const root = join(benchDir, '..');

/** The two libraries: the script each page loads (URL path and file). */
export const libraries = {
  ours: {
    name: 'this library',
    script: '/dist/kloudless.authenticator.js',
    file: join(root, 'dist/kloudless.authenticator.js'),
  },
  original: {
    name: 'original 1.3.0',
    script: '/original/kloudless-authenticator.min.js',
    file: join(benchDir, 'node_modules/@kloudless/authenticator/build/kloudless-authenticator.min.js'),
  },
};

/**
 * Serves /ours.html and /original.html (bench/pages/bench.html with that library's script) and
 * the two scripts, uncached (no-store), on 127.0.0.1; resolves to `{ port, origin, stop }`.
 */
export async function startApp() {
  const template = readFileSync(join(benchDir, 'pages/bench.html'), 'utf8');
  const files = {};
  for (const [id, library] of Object.entries(libraries)) {
    files[`/${id}.html`] = { type: 'text/html; charset=utf-8', body: template.replaceAll('{{LIBRARY}}', library.script) };
    files[library.script] = { type: 'text/javascript', body: readFileSync(library.file) };
  }
  const server = createServer((req, res) => {
    const file = files[new URL(req.url, 'http://x').pathname];
    if (!file) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return { port, origin: `http://localhost:${port}`, stop: () => server.close() };
}

/**
 * Starts target/debug/authenticator-server (`make server`'s build: `--latency-ms` is a test knob of
 * the `test-support` feature) with one app (`clientId`, trusting `trustedDomain`) and
 * `--latency-ms latencyMs`; resolves to `{ baseUrl, stop }`.
 */
export async function startApi({ clientId, trustedDomain, latencyMs }) {
  const binary = join(root, 'target/debug/authenticator-server');
  if (!existsSync(binary)) throw new Error(`${binary} is missing: run make server`);
  const dir = mkdtempSync(join(tmpdir(), 'kloudless-bench-'));
  const config = join(dir, 'config.toml');
  writeFileSync(config, `[[apps]]\nclient_id = ${JSON.stringify(clientId)}\n`
    + `trusted_domains = ${JSON.stringify([trustedDomain])}\n`);
  const child = spawn(binary, ['--listen', '127.0.0.1:0', '--database', join(dir, 'db.sqlite'),
    '--config', config, '--latency-ms', String(latencyMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr = [];
  // One log line per request: keep only the start, for error messages.
  child.stderr.on('data', (chunk) => { if (stderr.length < 64) stderr.push(chunk); });
  const baseUrl = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${Buffer.concat(stderr)}`)), 15000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /^listening on (http:\/\/\S+)/.exec(line);
      if (match) { clearTimeout(timer); resolve(match[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${Buffer.concat(stderr)}`)); });
  });
  return {
    baseUrl,
    stop: () => {
      child.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
