// End-to-end harness: the real API server binary, a static app server on another origin,
// and the system Chromium driven by playwright-core.
import { spawn } from 'node:child_process';
import { createServer, request as httpRequest } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join, dirname, extname, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const serverBinary = join(root, 'target/debug/authenticator-server');

/**
 * A fresh `--database` for a server (or several sharing it): an SQLite file in a new temporary
 * folder, or, when KLOUDLESS_TEST_DATABASE names a PostgreSQL server (`postgres://user@host:port`,
 * as `make test` sets it for its PostgreSQL run), a new database there (the server creates it).
 */
export function freshDatabase() {
  const server = process.env.KLOUDLESS_TEST_DATABASE;
  if (server) {
    const url = new URL(server);
    url.pathname = `/e2e_${randomBytes(8).toString('hex')}`;
    return url.href;
  }
  return join(mkdtempSync(join(tmpdir(), 'kloudless-e2e-db-')), 'db.sqlite');
}

/**
 * Starts the API server with `apps` as its config; resolves to `{ baseUrl, database, stop, log,
 * child }` (`log()`: the server's request log so far). An app may have an `api_key` (for the
 * account API), `require_sign_in_token: true`, `return_urls` (its registered return pages), and
 * a test `fault` (`{ endpoint, kind, slow_ms }`): the server then runs with `--test-faults`, which
 * only `make server`'s build has (the `test-support` feature; a plain build refuses the flag).
 * `config` is more TOML for the config file (e.g. a `[popup_flows]` table); `prelude` is TOML
 * placed before the apps (top-level keys such as `public_url`); `database` is its
 * `--database` (default: a fresh one, see freshDatabase); `args` are more command-line arguments
 * (test knobs such as `--rehost`, which only `make server`'s build has). `stop()` resolves once
 * it has exited.
 */
export async function startApi(apps, { listen = '127.0.0.1:0', config: extra = '', prelude = '', database = freshDatabase(), args = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'kloudless-e2e-'));
  const config = join(dir, 'config.toml');
  const fault = ({ endpoint, kind, slow_ms: slow }) => `fault = { endpoint = ${JSON.stringify(endpoint)}, `
    + `kind = ${JSON.stringify(kind)}${slow ? `, slow_ms = ${slow}` : ''} }\n`;
  writeFileSync(config, `${prelude}\n` + apps.map((app) => `[[apps]]\nclient_id = ${JSON.stringify(app.client_id)}\n`
    + `trusted_domains = ${JSON.stringify(app.trusted_domains)}\n${app.fault ? fault(app.fault) : ''}`
    + `${app.api_key ? `api_key = ${JSON.stringify(app.api_key)}\n` : ''}`
    + `${app.require_sign_in_token ? 'require_sign_in_token = true\n' : ''}`
    + `${app.return_urls ? `return_urls = ${JSON.stringify(app.return_urls)}\n` : ''}`
    + `${app.redirect_uris ? `redirect_uris = ${JSON.stringify(app.redirect_uris)}\n` : ''}`
    + `${app.webhook_url ? `webhook_url = ${JSON.stringify(app.webhook_url)}\n` : ''}`
    + `${app.webhook_secret ? `webhook_secret = ${JSON.stringify(app.webhook_secret)}\n` : ''}`).join('\n')
    + `\n${extra}`);
  if (!existsSync(serverBinary)) throw new Error(`${serverBinary} is missing: run make build`);
  const faults = apps.some((app) => app.fault) ? ['--test-faults'] : [];
  const child = spawn(serverBinary,
    ['--listen', listen, '--database', database, '--config', config, ...faults, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr = [];
  child.stderr.on('data', (chunk) => stderr.push(chunk));
  const lines = createInterface({ input: child.stdout });
  const baseUrl = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${Buffer.concat(stderr)}`)), 15000);
    lines.on('line', (line) => {
      const match = /^listening on (http:\/\/\S+)/.exec(line);
      if (match) { clearTimeout(timer); resolve(match[1]); }
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${Buffer.concat(stderr)}`)));
  });
  // The server logs one line per request: method, path, status and latency.
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const stop = () => { child.kill(); return exited; };
  return { baseUrl, database, stop, log: () => Buffer.concat(stderr).toString(), child };
}

const types = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
  '.svg': 'image/svg+xml' };
const pageMounts = {
  '/dist/': join(root, 'dist'),
  '/original/': join(root, 'node_modules/@kloudless/authenticator/build'),
  '/jquery/': join(root, 'node_modules/jquery/dist'),
  '/': join(root, 'e2e/pages'),
};

/**
 * A static server on 127.0.0.1 for the app pages: by default e2e/pages, dist/, the original
 * 1.3.0 build and jQuery; `mounts` maps URL prefixes (longest first) to folders instead.
 */
export async function startApp(mounts = pageMounts) {
  const server = createServer((req, res) => {
    let path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    // /windows-1252/… serves a page declared in a legacy encoding (its scripts inherit it).
    const legacy = path.startsWith('/windows-1252/');
    if (legacy) path = path.slice('/windows-1252'.length);
    const prefix = Object.keys(mounts).sort((a, b) => b.length - a.length).find((p) => path.startsWith(p));
    let file = normalize(join(mounts[prefix], path.slice(prefix.length)));
    // /spa/…: any route of a single-page app serves its page (as SPA hosting does).
    if (path.startsWith('/spa/') && mounts === pageMounts) file = join(root, 'e2e/pages/app.html');
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!file.startsWith(mounts[prefix]) || !existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    const type = types[extname(file)] || 'application/octet-stream';
    res.writeHead(200, { 'content-type': legacy && type === 'text/html' ? `${type}; charset=windows-1252` : type });
    res.end(readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return { port, origin: `http://localhost:${port}`, stop: () => server.close() };
}

/**
 * A load balancer without stickiness in front of API servers: each request goes to the next of
 * `upstreams` (base URLs) in turn, unless `pick(req)` names one (its index). Resolves to
 * `{ baseUrl, served, stop }`; `served` lists `{ method, path, instance }` for every request.
 */
export async function startRoundRobin(upstreams, pick = () => undefined) {
  let next = 0;
  const served = [];
  const server = createServer((req, res) => {
    const instance = pick(req) ?? next++ % upstreams.length;
    served.push({ method: req.method, path: req.url.split('?')[0], instance });
    const target = new URL(upstreams[instance]);
    const forward = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url,
      headers: req.headers }, (reply) => {
      res.writeHead(reply.statusCode, reply.headers);
      reply.pipe(res);
    });
    forward.on('error', () => { if (!res.headersSent) res.writeHead(502); res.end(); });
    req.pipe(forward);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { baseUrl: `http://127.0.0.1:${server.address().port}`, served, stop: () => server.close() };
}

/** A TCP port that was free a moment ago. */
export async function freePort() {
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Headless system Chromium; `popupBlocking` keeps Chromium's pop-up blocker on; `args` are added. */
export async function launchBrowser({ popupBlocking = false, args = [] } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', ...args],
    ignoreDefaultArgs: popupBlocking ? ['--disable-popup-blocking'] : [],
  });
}

/** Waits until `window.results` has at least `count` entries, then returns them. */
export async function results(page, count = 1) {
  await page.waitForFunction((n) => window.results && window.results.length >= n, count, { timeout: 15000 });
  return page.evaluate(() => window.results);
}

/** The app page (e2e/pages/app.html) using the API at `api`, asking for `scope`, in a fresh context of `browser` (no cookies, so no upstream session). */
export async function openApp(browser, app, api, scope) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${app.origin}/app.html?${new URLSearchParams({ api: api.baseUrl, scope })}`);
  return { context, page };
}

/** Waits for the first result, then `graceMs` (past the pop-up's grace period): exactly one callback. */
export async function onlyResult(page, graceMs = 1500) {
  const [first] = await results(page);
  await sleep(graceMs);
  assert.equal((await page.evaluate(() => window.results)).length, 1, 'exactly one callback');
  return first;
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Clicks `selector` on `page` and returns the pop-up it opens, loaded — or already closed: a
 * flow refused at once (its result page posts and the library closes the pop-up) may close it
 * before its load state is read.
 */
export async function clickForPopup(page, selector = '#connect') {
  const popupEvent = page.waitForEvent('popup');
  await page.click(selector);
  const popup = await popupEvent;
  try {
    await popup.waitForLoadState();
  } catch (error) {
    if (!popup.isClosed()) throw error;
  }
  return popup;
}

/** Drives the server's pop-up: picks `service` (when a chooser is shown), names the account, and connects. */
export async function connect(popup, service = 'box', account = 'e2e.user@example.com') {
  const chooser = popup.locator(`[data-service="${service}"]`);
  if (await chooser.count()) {
    await chooser.click();
    await popup.waitForLoadState();
  }
  await popup.fill('input[name="account"]', account);
  await popup.click('[data-action="connect"]');
}

/**
 * The usual setting of a test file: before its tests, an app server (startApp), the API server
 * with `apps(app)` (default: the app `e2e` trusting the app server) and more `config` TOML, and a
 * browser (launched with `browserOptions`); all stopped after them. Returns `{ app, api, browser }`, filled in by then.
 */
export function environment({
  apps = (app) => [{ client_id: 'e2e', trusted_domains: [`localhost:${app.port}`] }],
  browser: browserOptions = {},
  config = '',
} = {}) {
  const env = {};
  before(async () => {
    env.app = await startApp();
    env.api = await startApi(apps(env.app), { config });
    env.browser = await launchBrowser(browserOptions);
  });
  after(async () => {
    await env.browser?.close();
    env.api?.stop();
    env.app?.stop();
  });
  return env;
}
