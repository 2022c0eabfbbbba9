// A pop-up whose opener is cut: on its way to the server's pop-up it passes an intermediate page
// on a third origin that sends `Cross-Origin-Opener-Policy: same-origin` (as some identity
// providers' pages do). postMessage can no longer reach the app page, and `popup.closed` reads
// true while the pop-up is still open. The result must still arrive, and only on the app's
// origin: the server's result page takes the pop-up back to the launching page's URL (a
// registered return URL of the app) with a one-time code in the fragment, the library there
// hands the code over to the waiting page, and that page redeems it. An app that registered no
// return URL gets postMessage only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import { environment, results, sleep, clickForPopup, connect } from './harness.mjs';

// A short return window, so that a result nobody hands over is reported quickly; small quotas,
// so that a flood fills them quickly.
const env = environment({
  apps: (app) => {
    const returnUrls = [`${app.origin}/app.html`, `${app.origin}/spa/settings/accounts`];
    return [
      { client_id: 'e2e', trusted_domains: [`localhost:${app.port}`], return_urls: returnUrls },
      { client_id: 'two', trusted_domains: [`localhost:${app.port}`], return_urls: returnUrls },
      { client_id: 'bare', trusted_domains: [`localhost:${app.port}`] },
    ];
  },
  config: '[popup_flows]\nmax_per_client = 20\nmax_per_app = 40\nreturn_window_secs = 3\n',
});
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

/**
 * A page whose pop-up first visits the COOP page (once), then the server's pop-up. `query` is
 * added to app.html's; `route`, when given, is where the page moves (history.pushState) before
 * the click, as a single-page app does.
 */
async function openSeveringApp({ query = {}, route } = {}) {
  const context = await env.browser.newContext();
  let severed = false;
  await context.route(/\/v1\/oauth\?/, async (route) => {
    if (severed) return route.continue();
    severed = true;
    // The server serves the pop-up's first page before any identity provider's (and so tracks
    // the flow, in this browser: the context keeps its cookie), as it does in a real flow.
    await route.fetch();
    const next = route.request().url();
    const location = `http://127.0.0.1:${idp.address().port}/coop?${new URLSearchParams({ next })}`;
    return route.fulfill({ status: 302, headers: { location } });
  });
  const page = await context.newPage();
  const search = new URLSearchParams({ api: env.api.baseUrl, scope: 'any', ...query });
  await page.goto(`${env.app.origin}/app.html?${search}`);
  if (route) await page.evaluate((to) => history.pushState(null, '', to), route);
  return { context, page };
}

/**
 * The pop-up, back on the server's chooser, with its opener cut; for a tracked flow (`tracked`),
 * the page is still waiting.
 */
async function severedPopup(page, { tracked = true } = {}) {
  const popup = await clickForPopup(page);
  await popup.waitForSelector('[data-service]', { timeout: 15000 });
  assert.equal(await popup.evaluate(() => window.opener), null, 'COOP cut the opener');
  if (tracked) {
    assert.equal(await page.evaluate(() => window.results.length), 0, 'a closed-looking pop-up is only a hint');
  }
  return popup;
}

/** Waits for the pop-up to close itself (after handing the result over). */
async function closes(popup) {
  if (!popup.isClosed()) await popup.waitForEvent('close', { timeout: 10000 });
}

/** Connects through a severed pop-up; checks the one success it brings back, and returns it. */
async function connectsOnce(page, popup, service = 'gdrive') {
  await connect(popup, service, 'coop@example.com');
  const [result] = await results(page);
  assert.match(result.access_token, /\S{20,}/);
  assert.equal(result.account.service, service);
  assert.equal(result.account.account, 'coop@example.com');
  await closes(popup);
  await sleep(2000);
  assert.equal((await page.evaluate(() => window.results)).length, 1, 'exactly one callback');
  return result;
}

test('a COOP-severed pop-up still connects the account, through the launching page, with one callback', async () => {
  const { context, page } = await openSeveringApp();
  const popup = await severedPopup(page);
  const requestId = new URL(popup.url()).searchParams.get('request_id');
  await sleep(2500); // longer than the grace period: the server reports the flow as under way
  assert.equal(await page.evaluate(() => window.results.length), 0);
  const returns = [];
  popup.on('framenavigated', (frame) => frame === popup.mainFrame() && returns.push(frame.url()));
  await connectsOnce(page, popup);
  const back = returns.find((url) => url.startsWith(env.app.origin));
  assert.ok(back && back.includes('#kloudless-result='), `the pop-up came back to the app page: ${returns}`);
  assert.equal(back.split('#')[0], page.url(), 'to the very page that launched the flow');
  const [result] = await page.evaluate(() => window.results);
  for (const url of returns) assert.ok(!url.includes(result.access_token), `no token in a URL: ${url}`);
  const code = back.split('#kloudless-result=')[1];
  assert.match(code, /^[0-9a-f]{64}$/, 'the fragment holds a one-time code');
  // The waiting page redeemed it: it is good for nothing now, even on the app's own origin.
  const again = await page.evaluate(async ({ api, body }) => {
    const reply = await fetch(`${api}/v1/oauth/progress/redeem`, { method: 'POST', body: new URLSearchParams(body) });
    return { status: reply.status, text: await reply.text() };
  }, { api: env.api.baseUrl, body: { code, client_id: 'e2e', request_id: requestId } });
  assert.equal(again.status, 400);
  assert.ok(!again.text.includes(result.access_token));
  await context.close();
});

test('an app that registered no return page gets postMessage only, and the pop-up says so', async () => {
  const { context, page } = await openSeveringApp({ query: { client_id: 'bare' } });
  const popup = await severedPopup(page, { tracked: false });
  const [closed] = await results(page);
  assert.equal(closed.error, 'popup_closed', 'the server tracks no flow to wait for');
  const moves = [];
  popup.on('framenavigated', (frame) => frame === popup.mainFrame() && moves.push(frame.url()));
  await connect(popup, 'box', 'bare@example.com');
  await popup.waitForSelector('#kloudless-unreachable:not([hidden])', { timeout: 10000 });
  assert.match(await popup.textContent('#kloudless-unreachable'), /registered no return page/);
  await sleep(1500);
  assert.ok(!moves.some((url) => url.startsWith(env.app.origin)), `the pop-up went nowhere: ${moves}`);
  assert.ok(!popup.isClosed(), 'it stays open, saying why');
  assert.equal((await page.evaluate(() => window.results)).length, 1, 'exactly one callback');
  await context.close();
});

test('the result comes back to a single-page app route with a query string', async () => {
  const route = `/spa/settings/accounts?tab=connected&q=${encodeURIComponent('a b&c')}`;
  const { context, page } = await openSeveringApp({ route });
  const popup = await severedPopup(page);
  const returned = new Promise((resolve) => popup.on('framenavigated', (frame) => {
    if (frame.url().startsWith(`${env.app.origin}/spa/`)) resolve(frame.url());
  }));
  await connectsOnce(page, popup, 'box');
  assert.equal((await returned).split('#')[0], `${env.app.origin}${route.replace(' ', '%20')}`);
  await context.close();
});

test('without BroadcastChannel the result is handed over by a storage event', async () => {
  const { context, page } = await openSeveringApp({ query: { nobc: '1' } });
  assert.equal(await page.evaluate(() => typeof BroadcastChannel), 'undefined');
  const popup = await severedPopup(page);
  await connectsOnce(page, popup);
  assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing is left in storage');
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
  assert.doesNotMatch(result.error_description, /must load/);
  await sleep(2000);
  assert.equal((await page.evaluate(() => window.results)).length, 1);
  await context.close();
});

test('a launching page that does not load the library on its own gets popup_closed saying why', async () => {
  const { context, page } = await openSeveringApp({ query: { lazy: '1' } });
  const popup = await severedPopup(page);
  await connect(popup, 'box', 'coop@example.com');
  await popup.waitForURL(/#kloudless-result=/, { timeout: 10000 });
  const [result] = await results(page);
  assert.equal(result.error, 'popup_closed');
  assert.match(result.error_description, /must load the Kloudless authenticator/);
  assert.equal(result.access_token, undefined);
  await context.close();
});

/** A GET of a pop-up URL of app `clientId` from the local address `from`; resolves to its status. */
function popupFrom(from, clientId, requestId) {
  const query = new URLSearchParams({
    client_id: clientId, response_type: 'token', state: 's', request_id: requestId,
    origin: env.app.origin, return_to: `${env.app.origin}/app.html`, scope: 'box',
  });
  return new Promise((resolve, reject) => {
    const req = request(`${env.api.baseUrl}/v1/oauth?${query}`, { localAddress: from }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end();
  });
}

test('a flood from one client gets 429, and another app\'s flows still complete on both channels', async () => {
  const statuses = [];
  for (let i = 0; i < 60; i++) statuses.push(await popupFrom('127.0.0.2', i % 2 ? 'e2e' : 'two', `flood${i}`));
  assert.equal(statuses.filter((s) => s === 200).length, 20, 'the client quota');
  assert.equal(statuses.filter((s) => s === 429).length, 40);
  // And a flood at one app from many addresses fills that app's quota only; the pop-ups past it
  // are served all the same, untracked (they finish by postMessage only), never refused.
  for (let i = 0; i < 40; i++) statuses.push(await popupFrom(`127.0.1.${i + 1}`, 'e2e', `spread${i}`));
  assert.ok(statuses.slice(60).every((s) => s === 200), 'a full app quota refuses none of its users');
  const progress = async (requestId) => (await fetch(`${env.api.baseUrl}/v1/oauth/progress`, {
    method: 'POST', body: new URLSearchParams({ client_id: 'e2e', request_id: requestId }),
  })).status;
  assert.equal(await progress('spread0'), 202, 'within the app quota: tracked');
  assert.equal(await progress('spread39'), 204, 'past the app quota: untracked');

  // Another app's user, on the API's loopback address 127.0.0.1: by postMessage...
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${env.app.origin}/app.html?${new URLSearchParams({ api: env.api.baseUrl, client_id: 'two', scope: 'box' })}`);
  const popup = await clickForPopup(page);
  await connect(popup, 'box');
  const [posted] = await results(page);
  assert.equal(posted.account.service, 'box');
  await context.close();
  // ...and through a pop-up whose opener was cut.
  const severing = await openSeveringApp({ query: { client_id: 'two' } });
  await connectsOnce(severing.page, await severedPopup(severing.page));
  await severing.context.close();
});
