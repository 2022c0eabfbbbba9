// make bench: this library (dist/kloudless.authenticator.js) against the original
// @kloudless/authenticator 1.3.0, on the same page (bench/pages/bench.html) against the same API
// server, in headless system Chromium, alternating A/B/A/B in one run. Prints a markdown table of
// medians and writes it to bench/results.md (raw samples to bench/results.json).
//
// Environment: BENCH_RUNS (flow runs per library, default 25), BENCH_MEMORY_RUNS (default 5),
// BENCH_CYCLES (default 1000), CHROMIUM (default /usr/bin/chromium).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, constants as zlib } from 'node:zlib';
import { chromium } from 'playwright-core';
import { benchDir, libraries, root, startApi, startApp } from './servers.mjs';

const RUNS = Number(process.env.BENCH_RUNS || 25);
const MEMORY_RUNS = Number(process.env.BENCH_MEMORY_RUNS || 5);
const CYCLES = Number(process.env.BENCH_CYCLES || 1000);
const WARMUP = 2;
const LATENCY_MS = 50;
const CLIENT_ID = 'bench';
const ORDER = ['ours', 'original'];
const began = Date.now();
const log = (...args) => console.error(`[bench ${((Date.now() - began) / 1000).toFixed(0)}s]`, ...args);

// ---------------------------------------------------------------------------------------------
// Bytes
// ---------------------------------------------------------------------------------------------

function sizes(file) {
  const raw = readFileSync(file);
  return {
    raw: raw.length,
    gzip: execFileSync('gzip', ['-9c', file], { maxBuffer: 1 << 26 }).length,
    brotli: brotliCompressSync(raw, {
      params: { [zlib.BROTLI_PARAM_QUALITY]: zlib.BROTLI_MAX_QUALITY, [zlib.BROTLI_PARAM_SIZE_HINT]: raw.length },
    }).length,
  };
}

const npmEntries = {
  ours: join(root, 'build/npm/index.js'),
  original: join(benchDir, 'node_modules/@kloudless/authenticator/dist/auth-widget.js'),
};
for (const file of [...Object.values(libraries).map((l) => l.file), ...Object.values(npmEntries)]) {
  if (!existsSync(file)) throw new Error(`${file} is missing: run make dist, and npm ci in bench/`);
}
const bytes = {
  script: { ours: sizes(libraries.ours.file), original: sizes(libraries.original.file) },
  npm: { ours: sizes(npmEntries.ours), original: sizes(npmEntries.original) },
};
log('sizes measured');

// ---------------------------------------------------------------------------------------------
// Browser runs
// ---------------------------------------------------------------------------------------------

const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!existsSync(executablePath)) {
  throw new Error(`${executablePath} is missing: install Chromium (make deps-browser) or set CHROMIUM`);
}

const app = await startApp();
const api = await startApi({ clientId: CLIENT_ID, trustedDomain: `localhost:${app.port}`, latencyMs: LATENCY_MS });
const browser = await chromium.launch({
  executablePath,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run',
    '--js-flags=--expose-gc', '--enable-precise-memory-info'],
  // Chromium's pop-up blocker stays on: the pop-up opens only from a real user gesture.
  ignoreDefaultArgs: ['--disable-popup-blocking'],
});
const pageUrl = (id) => `${app.origin}/${id}.html?${new URLSearchParams({ api: api.baseUrl, client_id: CLIENT_ID })}`;

/**
 * One complete flow in a fresh browser context (empty HTTP and code cache): load the page, click
 * the button (Playwright's real click: a user gesture), drive the server's pop-up, wait for the
 * callback. Returns the page's marks.
 */
async function flowRun(id) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(pageUrl(id));
    const popupEvent = page.waitForEvent('popup', { timeout: 15000 });
    await page.click('#connect');
    const popup = await popupEvent;
    await popup.waitForLoadState();
    // scope=box: one service, so the server skips the chooser.
    await popup.fill('input[name="account"]', 'bench@example.com');
    await popup.click('[data-action="connect"]');
    await page.waitForFunction(() => window.bench.callback !== undefined, null, { timeout: 15000 });
    return await page.evaluate(() => {
      const { bench } = window;
      return {
        usable: bench.usable - bench.start,
        usableAfterDownload: bench.usable - Math.max(bench.start, bench.scriptResponseEnd ?? bench.start),
        created: bench.created - bench.start,
        clickToOpen: bench.open - bench.click,
        openSameTask: bench.openSameTask,
        openInDispatch: bench.openInDispatch,
        popupOpened: bench.popupOpened,
        messageToCallback: bench.callback - bench.message,
        messageSeen: bench.message !== undefined,
        result: bench.result,
        // The API requests the library made for the result (Resource Timing; preflights are not listed).
        apiRequests: performance.getEntriesByType('resource')
          .filter((e) => /\/v1\/(oauth\/token|accounts|oauth\/progress)/.test(e.name) && e.startTime >= bench.message)
          .map((e) => ({ path: new URL(e.name).pathname, start: e.startTime, end: e.responseEnd })),
      };
    });
  } finally {
    await context.close();
  }
}

/** A fresh page: GC'd heap after load, CYCLES create/stop cycles, GC'd heap and wasm memory. */
async function memoryRun(id) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(pageUrl(id));
    const before = await page.evaluate(() => window.settle());
    const cycleMs = await page.evaluate((n) => window.cycles(n), CYCLES);
    const after = await page.evaluate(() => window.settle());
    return { heapBefore: before.heap, wasmBefore: before.wasm, heapAfter: after.heap, wasmAfter: after.wasm, cycleMs };
  } finally {
    await context.close();
  }
}

/** Runs `fn` `count` times per library, alternating ours/original; the first `warmup` rounds are dropped. */
async function alternate(what, count, fn, warmup = 0) {
  const samples = { ours: [], original: [] };
  for (let round = 0; round < warmup + count; round++) {
    for (const id of ORDER) {
      const sample = await fn(id);
      if (round >= warmup) samples[id].push(sample);
    }
    if ((round + 1) % 5 === 0) log(`${what}: ${round + 1}/${warmup + count} rounds`);
  }
  return samples;
}

let flows;
let memory;
let chromiumVersion;
try {
  chromiumVersion = browser.version();
  log(`Chromium ${chromiumVersion}; ${RUNS} flow runs per library (+${WARMUP} warm-up), API latency ${LATENCY_MS} ms`);
  flows = await alternate('flows', RUNS, flowRun, WARMUP);
  memory = await alternate('memory', MEMORY_RUNS, memoryRun);
} finally {
  await browser.close();
  api.stop();
  app.stop();
}

// ---------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------

const median = (values) => {
  const sorted = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (!sorted.length) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;
const pick = (samples, key) => ({ ours: samples.ours.map((s) => s[key]), original: samples.original.map((s) => s[key]) });
const count = (list, predicate) => `${list.filter(predicate).length}/${list.length}`;

const fmtBytes = (n) => n.toLocaleString('en-US');
const fmtMs = (n) => (Number.isNaN(n) ? 'n/a' : `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms`);
const fmtKiB = (n) => (n == null || Number.isNaN(n) ? 'n/a' : `${(n / 1024).toLocaleString('en-US', { maximumFractionDigits: 0 })} KiB`);
const ratio = (a, b) => (a == null || b == null || Number.isNaN(a) || Number.isNaN(b) || b === 0 ? 'n/a' : `${(a / b).toFixed(2)}×`);

const rows = [];
const row = (label, ours, original, format) => rows.push(`| ${label} | ${format(ours)} | ${format(original)} | ${ratio(ours, original)} |`);

row('script-tag file, raw (bytes)', bytes.script.ours.raw, bytes.script.original.raw, fmtBytes);
row('script-tag file, gzip -9', bytes.script.ours.gzip, bytes.script.original.gzip, fmtBytes);
row('script-tag file, brotli (q11)', bytes.script.ours.brotli, bytes.script.original.brotli, fmtBytes);
row('npm entry, gzip -9 ¹', bytes.npm.ours.gzip, bytes.npm.original.gzip, fmtBytes);

const timing = (label, key) => {
  const values = pick(flows, key);
  row(label, median(values.ours), median(values.original), fmtMs);
};
timing('script start → API usable (median)', 'usable');
timing('… of which after the script was downloaded ²', 'usableAfterDownload');
timing('script start → first `authenticator()` returned', 'created');
timing('click → `window.open` ³', 'clickToOpen');
{
  const values = pick(flows, 'clickToOpen');
  row('click → `window.open`, mean ³', mean(values.ours), mean(values.original), fmtMs);
}
timing(`result message → callback, API +${LATENCY_MS} ms/request ⁴`, 'messageToCallback');

const mem = (label, key, format) => {
  const values = pick(memory, key);
  row(label, median(values.ours), median(values.original), format);
};
mem('JS heap after load, GC’d ⁵', 'heapBefore', fmtKiB);
mem(`JS heap after ${CYCLES.toLocaleString('en-US')} create/stop cycles, GC’d ⁵`, 'heapAfter', fmtKiB);
mem('wasm memory after load', 'wasmBefore', fmtKiB);
mem(`wasm memory after ${CYCLES.toLocaleString('en-US')} cycles`, 'wasmAfter', fmtKiB);
mem(`time for ${CYCLES.toLocaleString('en-US')} create/stop cycles`, 'cycleMs', fmtMs);

const requestPattern = (id) => {
  const patterns = flows[id].map(({ apiRequests: list }) => {
    const paths = list.map((r) => r.path.replace(/\/accounts\/\d+\//, '/accounts/{id}/')).join(' + ');
    const concurrent = list.some((a, i) => list.some((b, j) => i < j && b.start < a.end && a.start < b.end));
    return `${paths || 'none'}, ${list.length > 1 ? (concurrent ? 'concurrently' : 'one after the other') : 'alone'}`;
  });
  return [...new Set(patterns)].map((p) => `${p} (${patterns.filter((q) => q === p).length}/${patterns.length})`).join('; ');
};

const checks = (id) => {
  const list = flows[id];
  return `${libraries[id].name}: pop-up opened ${count(list, (s) => s.popupOpened)}, `
    + `\`window.open\` in the click's task ${count(list, (s) => s.openSameTask)}, `
    + `synchronously in the click handler ${count(list, (s) => s.openInDispatch)}, `
    + `result message seen ${count(list, (s) => s.messageSeen)}, `
    + `callback with the account ${count(list, (s) => s.result === 'box')}`
    + (list.some((s) => s.result !== 'box') ? ` (others: ${[...new Set(list.filter((s) => s.result !== 'box').map((s) => s.result))].join(', ')})` : '');
};

const cpuModel = (/^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8')) || [])[1] || cpus()[0]?.model;
const osName = (/^PRETTY_NAME="?([^"\n]*)"?$/m.exec(existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '') || [])[1] || 'unknown';
const git = (args) => { try { return execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim(); } catch { return ''; } };
const commit = git(['rev-parse', '--short', 'HEAD']);
const dirty = git(['status', '--porcelain', '--', 'src', 'js', 'Cargo.toml', 'Cargo.lock']) !== '';
const playwrightVersion = JSON.parse(readFileSync(join(benchDir, 'node_modules/playwright-core/package.json'), 'utf8')).version;
const elapsed = (Date.now() - began) / 1000;

const md = `# Benchmark: this library against \`@kloudless/authenticator\` 1.3.0

Written by \`make bench\` (bench/run.mjs) on ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}.

- Machine: ${cpuModel}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB memory; ${osName}, Linux ${release()}
- Node.js ${process.version}; Chromium ${chromiumVersion} (headless, system build, playwright-core ${playwrightVersion})
- This library built from commit ${commit || 'unknown'}${dirty ? ' with uncommitted changes in src/ or js/' : ''}
- Runs: ${RUNS} complete flows per library (after ${WARMUP} warm-up rounds), alternating this/original; ${MEMORY_RUNS} memory pages per library, alternating. Each run is a fresh browser context (cold: empty HTTP and code cache; the static server also sends \`no-store\`).
- Whole run: ${elapsed.toFixed(0)} s

| | this library | original 1.3.0 | ratio (this / original) |
| --- | ---: | ---: | ---: |
${rows.join('\n')}

Timings are medians unless marked as a mean; memory rows are medians of ${MEMORY_RUNS} fresh pages.

1. This library: \`build/npm/index.js\`, the ES module with the wasm embedded (self-contained). The original: its npm \`main\`, \`dist/auth-widget.js\`, a Babel-transpiled, unminified CommonJS module (no imports, but it needs a bundler to run and to be minified, so this is not what an app ships; its minified build is the script-tag row). Raw / brotli: this library ${fmtBytes(bytes.npm.ours.raw)} / ${fmtBytes(bytes.npm.ours.brotli)}, the original ${fmtBytes(bytes.npm.original.raw)} / ${fmtBytes(bytes.npm.original.brotli)}.
2. From the later of the inline start mark and the script's \`responseEnd\` (Resource Timing) to API usable: parsing, compiling and running the script. The preload scanner may fetch the script before the start mark runs.
3. From a capturing \`click\` listener on \`document\` (added before the library) to the page's \`window.open\` wrapper; Playwright's real click, pop-up blocker on. Pages are not cross-origin isolated, so \`performance.now()\` is coarsened to 100 µs (with jitter): the medians are quantised, and the mean is also given. Same-task check: ${checks('ours')}; ${checks('original')}. The original also opens the pop-up synchronously in its click handler (\`popup = window.open(url, 'kPOPUP', …)\`).
4. The API server runs with \`--latency-ms ${LATENCY_MS}\`: every API request (token, account, progress) waits ${LATENCY_MS} ms, CORS preflights included; each cross-origin request with \`Authorization\` needs a preflight unless one is cached, so each such request costs 2 × ${LATENCY_MS} ms. This library warms those preflights at launch (an \`OPTIONS\` to each endpoint while the pop-up is open), so its requests after the result cost ${LATENCY_MS} ms each; the original's are each preceded by a preflight. API requests after the result message, as recorded by Resource Timing: ${libraries.ours.name}: ${requestPattern('ours')}; ${libraries.original.name}: ${requestPattern('original')}. From the first \`kloudless:\` message of type \`authentication\` (a \`message\` listener added before the library's) to the callback.
5. \`performance.memory.usedJSHeapSize\` (Chromium with \`--enable-precise-memory-info\`) after \`gc()\` four times, 50 ms apart (\`--js-flags=--expose-gc\`), so finalizers have run. The cycles: \`Kloudless.auth.authenticator(button, {client_id}, cb); Kloudless.auth.stop(button);\` on one button. Wasm memory is the \`WebAssembly.Memory\` captured by wrapping \`WebAssembly.Instance\` before the library loads; the original has no wasm. A wasm memory only grows, never shrinks, so the row after the cycles is its peak size during them. The original's \`authenticator()\` also re-points its relay iframe's \`src\` on every call.
`;

writeFileSync(join(benchDir, 'results.md'), md);
writeFileSync(join(benchDir, 'results.json'), `${JSON.stringify({
  date: new Date().toISOString(), chromium: chromiumVersion, node: process.version, runs: RUNS,
  memoryRuns: MEMORY_RUNS, cycles: CYCLES, latencyMs: LATENCY_MS, bytes, flows, memory,
}, null, 1)}\n`);
console.log(md);
log(`wrote bench/results.md and bench/results.json in ${elapsed.toFixed(0)} s`);
