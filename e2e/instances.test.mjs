// Two API server instances on one database (SQLite, or PostgreSQL when KLOUDLESS_TEST_DATABASE
// is set, as in `make test`'s PostgreSQL run), behind a round-robin proxy: each request goes to
// the next instance, as a load balancer without stickiness would. Full flows in Chromium,
// including ones whose pop-up is opened through one instance and finished through the other,
// by postMessage and through a COOP-cut pop-up; each result arrives exactly once and its token
// verifies on both instances. And a server restarted mid-flow completes the flow.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import {
  startApp, startApi, startRoundRobin, launchBrowser, freshDatabase, freePort, results, sleep, clickForPopup,
  connect,
} from './harness.mjs';

let app; let a; let b; let browser; let idp;
const database = freshDatabase();

before(async () => {
  app = await startApp();
  const apps = [{ client_id: 'e2e', trusted_domains: [`localhost:${app.port}`], return_urls: [`${app.origin}/app.html`] }];
  // A short return window, as in coop.test.mjs.
  const config = '[popup_flows]\nreturn_window_secs = 3\n';
  a = await startApi(apps, { database, config });
  b = await startApi(apps, { database, config });
  browser = await launchBrowser();
  // A third origin whose page severs the pop-up's opener (Cross-Origin-Opener-Policy), then
  // goes on to `next`: see coop.test.mjs.
  idp = createServer((req, res) => {
    const next = new URL(req.url, 'http://x').searchParams.get('next') || '';
    res.writeHead(200, { 'content-type': 'text/html', 'cross-origin-opener-policy': 'same-origin' });
    res.end(`<!doctype html><title>identity provider</title>
      <script>setTimeout(() => location.replace(${JSON.stringify(next)}), 300)</script>`);
  });
  await new Promise((resolve) => idp.listen(0, '127.0.0.1', resolve));
});

after(async () => {
  await browser?.close();
  await Promise.all([a?.stop(), b?.stop()]);
  app?.stop();
  idp?.close();
});

/**
 * The proxy: the pop-up's pages (GET /v1/oauth) from instance A, its form posts (POST
 * /v1/oauth) to instance B, every other request (the library's API calls and progress checks,
 * the relay) round-robin.
 */
function proxy() {
  return startRoundRobin([a.baseUrl, b.baseUrl], (req) => {
    if (!req.url.startsWith('/v1/oauth?') && !req.url.startsWith('/v1/oauth/?') && req.url !== '/v1/oauth') return undefined;
    return req.method === 'POST' ? 1 : 0;
  });
}

/** Resolves to the token endpoint's status and body for `token` on the server at `baseUrl`. */
async function verify(baseUrl, token) {
  const reply = await fetch(`${baseUrl}/v1/oauth/token/`, { headers: { authorization: `Bearer ${token}` } });
  return { status: reply.status, body: await reply.json() };
}

/** Checks a success: one callback, and a token both instances verify. */
async function deliveredOnceAndVerifiedOnBoth(page, account) {
  const [result] = await results(page);
  assert.match(result.access_token, /\S{20,}/);
  assert.equal(result.account.account, account);
  await sleep(2000);
  assert.equal((await page.evaluate(() => window.results)).length, 1, 'exactly one callback');
  for (const instance of [a, b]) {
    const { status, body } = await verify(instance.baseUrl, result.access_token);
    assert.equal(status, 200);
    assert.equal(body.client_id, 'e2e');
    assert.equal(body.account_id, result.account.id);
  }
  return result;
}

/** Which instances served the pop-up's pages and its form posts. */
function popupInstances(lb) {
  const pages = lb.served.filter((r) => r.path === '/v1/oauth' || r.path === '/v1/oauth/');
  return {
    opened: new Set(pages.filter((r) => r.method === 'GET').map((r) => r.instance)),
    finished: new Set(pages.filter((r) => r.method === 'POST').map((r) => r.instance)),
  };
}

test('a pop-up opened through one instance and finished through the other delivers once, verified on both', async () => {
  const lb = await proxy();
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${app.origin}/app.html?${new URLSearchParams({ api: lb.baseUrl, scope: 'any' })}`);
  const popup = await clickForPopup(page);
  await connect(popup, 'box', 'two.instances@example.com');
  await deliveredOnceAndVerifiedOnBoth(page, 'two.instances@example.com');
  assert.deepEqual(popupInstances(lb), { opened: new Set([0]), finished: new Set([1]) }, JSON.stringify(lb.served));
  const api = lb.served.filter((r) => r.path.startsWith('/v1/oauth/token') || r.path.startsWith('/v1/accounts'));
  assert.deepEqual(new Set(api.map((r) => r.instance)), new Set([0, 1]), 'the API calls went to both');
  await context.close();
  lb.stop();
});

test('a COOP-cut pop-up across two instances delivers once through the launching page, verified on both', async () => {
  const lb = await proxy();
  const context = await browser.newContext();
  let severed = false;
  await context.route(/\/v1\/oauth\?/, (route) => {
    if (severed) return route.continue();
    severed = true;
    const next = route.request().url();
    const location = `http://127.0.0.1:${idp.address().port}/coop?${new URLSearchParams({ next })}`;
    return route.fulfill({ status: 302, headers: { location } });
  });
  const page = await context.newPage();
  await page.goto(`${app.origin}/app.html?${new URLSearchParams({ api: lb.baseUrl, scope: 'any' })}`);
  const popup = await clickForPopup(page);
  await popup.waitForSelector('[data-service]', { timeout: 15000 });
  assert.equal(await popup.evaluate(() => window.opener), null, 'COOP cut the opener');
  await sleep(2500); // the page checks the flow's progress, through both instances
  assert.equal(await page.evaluate(() => window.results.length), 0);
  const progress = lb.served.filter((r) => r.path === '/v1/oauth/progress');
  assert.ok(progress.length >= 2, `progress checks: ${progress.length}`);
  assert.deepEqual(new Set(progress.map((r) => r.instance)), new Set([0, 1]), 'checked through both');
  await connect(popup, 'gdrive', 'coop.instances@example.com');
  await deliveredOnceAndVerifiedOnBoth(page, 'coop.instances@example.com');
  assert.deepEqual(popupInstances(lb), { opened: new Set([0]), finished: new Set([1]) }, JSON.stringify(lb.served));
  await context.close();
  lb.stop();
});

test('a server restarted between the pop-up and its result still completes the flow', async () => {
  const port = await freePort();
  const apps = [{ client_id: 'e2e', trusted_domains: [`localhost:${app.port}`] }];
  const listen = `127.0.0.1:${port}`;
  let server = await startApi(apps, { database, listen });
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${app.origin}/app.html?${new URLSearchParams({ api: server.baseUrl, scope: 'box' })}`);
  const popup = await clickForPopup(page);
  await popup.waitForSelector('input[name="account"]');
  await server.stop(); // SIGTERM: a graceful stop
  server = await startApi(apps, { database, listen });
  await connect(popup, 'box', 'restarted@example.com');
  const [result] = await results(page);
  assert.equal(result.account.account, 'restarted@example.com');
  await sleep(2000);
  assert.equal((await page.evaluate(() => window.results)).length, 1, 'exactly one callback');
  assert.equal((await verify(server.baseUrl, result.access_token)).status, 200);
  await context.close();
  await server.stop();
});
