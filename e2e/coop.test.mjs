// A pop-up whose opener is cut: on its way to the server's pop-up it passes an intermediate page
// on a third origin that sends `Cross-Origin-Opener-Policy: same-origin` (as some identity
// providers' pages do). postMessage can no longer reach the app page, and `popup.closed` reads
// true while the pop-up is still open; the result must still arrive, through the rendezvous.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { environment, results, sleep, clickForPopup, connect } from './harness.mjs';

const env = environment();
let idp;

before(async () => {
  // The third origin: a page that severs the opener, then goes on to `next`.
  idp = createServer((req, res) => {
    const next = new URL(req.url, 'http://x').searchParams.get('next') || '';
    res.writeHead(200, { 'content-type': 'text/html', 'cross-origin-opener-policy': 'same-origin' });
    res.end(`<!doctype html><title>identity provider</title><p>Signing in…</p>
      <script>setTimeout(() => location.replace(${JSON.stringify(next)}), 300)</script>`);
  });
  await new Promise((resolve) => idp.listen(0, '127.0.0.1', resolve));
});

after(() => idp?.close());

/** A page whose pop-up first visits the COOP page (once), then the server's pop-up. */
async function openSeveringApp() {
  const context = await env.browser.newContext();
  let severed = false;
  await context.route(/\/v1\/oauth\?/, (route) => {
    if (severed) return route.continue();
    severed = true;
    const next = route.request().url();
    const location = `http://127.0.0.1:${idp.address().port}/coop?${new URLSearchParams({ next })}`;
    return route.fulfill({ status: 302, headers: { location } });
  });
  const page = await context.newPage();
  await page.goto(`${env.app.origin}/app.html?${new URLSearchParams({ api: env.api.baseUrl, scope: 'any' })}`);
  return { context, page };
}

/** The pop-up, back on the server's chooser, with its opener cut. */
async function severedPopup(page) {
  const popup = await clickForPopup(page);
  await popup.waitForSelector('[data-service]', { timeout: 15000 });
  assert.equal(await popup.evaluate(() => window.opener), null, 'COOP cut the opener');
  assert.equal(await page.evaluate(() => window.results.length), 0, 'a closed-looking pop-up is only a hint');
  return popup;
}

test('a COOP-severed pop-up still connects the account, through the rendezvous, with one callback', async () => {
  const { context, page } = await openSeveringApp();
  const popup = await severedPopup(page);
  await sleep(2500); // longer than the grace period: the server reports the flow as under way
  assert.equal(await page.evaluate(() => window.results.length), 0);
  await connect(popup, 'gdrive', 'coop@example.com');
  const [result] = await results(page);
  assert.match(result.access_token, /\S{20,}/);
  assert.equal(result.account.service, 'gdrive');
  assert.equal(result.account.account, 'coop@example.com');
  await sleep(2000);
  assert.equal((await page.evaluate(() => window.results)).length, 1, 'exactly one callback');
  await context.close();
});

test('a COOP-severed pop-up that the user denies reports access_denied once', async () => {
  const { context, page } = await openSeveringApp();
  const popup = await severedPopup(page);
  await popup.click('[data-action="deny"]');
  const [result] = await results(page);
  assert.equal(result.error, 'access_denied');
  assert.equal(result.access_token, undefined);
  await sleep(2000);
  assert.equal((await page.evaluate(() => window.results)).length, 1);
  await context.close();
});

test('a COOP-severed pop-up closed by the user reports popup_closed once', async () => {
  const { context, page } = await openSeveringApp();
  const popup = await severedPopup(page);
  await popup.close();
  const [result] = await results(page);
  assert.equal(result.error, 'popup_closed');
  await sleep(2000);
  assert.equal((await page.evaluate(() => window.results)).length, 1);
  await context.close();
});
