// The whole flow in headless Chromium: an app page on one origin, the real API server on
// another, the real pop-up driven through its chooser; success and every error path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { environment, launchBrowser, results, sleep, clickForPopup, connect, onlyResult } from './harness.mjs';

const env = environment({
  apps: (app) => ['e2e', 'other'].map((client_id) => ({ client_id, trusted_domains: [`localhost:${app.port}`] })),
});

const appUrl = (query = {}, origin = env.app.origin, page = '/app.html') =>
  `${origin}${page}?${new URLSearchParams({ api: env.api.baseUrl, ...query })}`;

async function openApp(query, origin, path) {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await page.goto(appUrl(query, origin, path));
  return { context, page };
}

/** Rewrites one query parameter of every pop-up request of `context` (an attacker in the middle). */
function tamperPopupParam(context, name, value) {
  return context.route(/\/v1\/oauth\?/, (route) => {
    const url = new URL(route.request().url());
    url.searchParams.set(name, value);
    return route.continue({ url: url.toString() });
  });
}


test('connects an account: token verified, account fetched, one callback, everything released', async () => {
  const { context, page } = await openApp({ scope: 'any' });
  const logged = env.api.log().length;
  const popup = await clickForPopup(page);
  await connect(popup, 'box', 'alice@example.com');
  const result = await onlyResult(page, 2000);
  assert.match(result.access_token, /\S{20,}/);
  assert.equal(result.token_type, 'Bearer');
  assert.match(result.state, /^[0-9a-f]{32}$/);
  assert.equal(result.scope, 'box:normal.storage');
  assert.equal(result.account.service, 'box');
  assert.equal(result.account.account, 'alice@example.com');
  assert.equal(typeof result.account.id, 'number');
  assert.ok(popup.isClosed(), 'the library closes the pop-up');
  assert.equal(await page.evaluate(() => document.querySelectorAll('iframe').length), 0, 'relay removed');
  // The launch warmed the verification's CORS preflights (an OPTIONS, after its own preflight),
  // so verifying the result needed none: one round trip after the pop-up, not two. (No
  // context.route in this test: with one, Playwright answers preflights itself.)
  // Each request's line without its latency (`GET /path 200 0.412 ms`).
  const requests = env.api.log().slice(logged).split('\n').map((line) => line.replace(/ [\d.]+ ms$/, ''));
  for (const path of ['/v1/oauth/token/', '/v1/accounts/me/']) {
    assert.equal(requests.filter((line) => line === `OPTIONS ${path} 204`).length, 2, `${path}: ${requests}`);
    assert.equal(requests.filter((line) => line === `GET ${path} 200`).length, 1, `${path}: ${requests}`);
  }
  await context.close();
});

test('a jQuery element and a scope with one service (no chooser) connect', async () => {
  const { context, page } = await openApp({ scope: 'dropbox', jquery: '1' });
  const popup = await clickForPopup(page);
  assert.equal(await popup.locator('[data-service]').count(), 0);
  await connect(popup, 'dropbox');
  const result = await onlyResult(page, 2000);
  assert.equal(result.account.service, 'dropbox');
  await context.close();
});

test('the script works on a page in a legacy encoding (windows-1252)', async () => {
  // The embedded wasm is one character per byte in UTF-8: the file's BOM must win over the page's charset.
  const { context, page } = await openApp({ scope: 'hubspot' }, env.app.origin, '/windows-1252/app.html');
  assert.equal(await page.evaluate(() => document.characterSet), 'windows-1252');
  const popup = await clickForPopup(page);
  await connect(popup, 'hubspot');
  assert.equal((await onlyResult(page, 2000)).account.service, 'hubspot');
  await context.close();
});

test('deny passes the server error through unchanged', async () => {
  const { context, page } = await openApp({ scope: 'crm' });
  const popup = await clickForPopup(page);
  await popup.click('[data-action="deny"]');
  const result = await onlyResult(page, 2000);
  assert.equal(result.error, 'access_denied');
  assert.equal(result.access_token, undefined);
  assert.match(result.state, /^[0-9a-f]{32}$/);
  await context.close();
});

test('a pop-up closed by the user reports popup_closed once', async () => {
  const { context, page } = await openApp();
  const popup = await clickForPopup(page);
  await popup.close();
  const result = await onlyResult(page, 2000);
  assert.equal(result.error, 'popup_closed');
  await context.close();
});

test('an untrusted origin gets an error page that reports only untrusted_origin, at once', async () => {
  // 127.0.0.1 is not among the app's trusted domains (localhost is).
  const { context, page } = await openApp({}, `http://127.0.0.1:${env.app.port}`);
  const popup = await clickForPopup(page);
  const result = await onlyResult(page, 1000);
  assert.deepEqual(Object.keys(result).sort(), ['error', 'error_description', 'state']);
  assert.equal(result.error, 'untrusted_origin');
  assert.match(result.error_description, /not a Trusted Domain/);
  assert.ok(popup.isClosed(), 'the library closes the pop-up');
  await context.close();
});

test('a result with another state is invalid_state', async () => {
  const { context, page } = await openApp({ scope: 'box' });
  await tamperPopupParam(context, 'state', 'forged-state');
  const popup = await clickForPopup(page);
  await connect(popup, 'box');
  const result = await onlyResult(page, 2000);
  assert.equal(result.error, 'invalid_state');
  assert.equal(result.access_token, undefined);
  await context.close();
});

test("a token of another app is client_id_mismatch, and the token is not handed out", async () => {
  const { context, page } = await openApp({ scope: 'box' });
  await tamperPopupParam(context, 'client_id', 'other');
  const popup = await clickForPopup(page);
  await connect(popup, 'box');
  const result = await onlyResult(page, 2000);
  assert.equal(result.error, 'client_id_mismatch');
  assert.equal(result.access_token, undefined);
  assert.equal(result.account, undefined);
  await context.close();
});

test('a blocked pop-up reports popup_blocked once', async () => {
  const blocking = await launchBrowser({ popupBlocking: true });
  try {
    const page = await blocking.newPage();
    await page.goto(appUrl({ autolaunch: '1' }));
    const result = await onlyResult(page, 2000);
    assert.equal(result.error, 'popup_blocked');
  } finally {
    await blocking.close();
  }
});

test('the original 1.3.0 script connects an account against this server', async () => {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${env.app.origin}/original.html?${new URLSearchParams({ api: env.api.baseUrl })}`);
  const popup = await clickForPopup(page);
  await connect(popup, 'box', 'legacy@example.com');
  const [result] = await results(page);
  assert.equal(result.account.service, 'box');
  assert.equal(result.account.account, 'legacy@example.com');
  assert.equal(result.token_type, 'Bearer');
  await context.close();
});
