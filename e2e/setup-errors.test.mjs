// Setup errors and the ordinary close, in Chromium against the real API server (issue 24, items 7
// and 8). A flow that cannot start (an unknown client_id, an origin the app does not trust, a
// return page the app did not register, a missing sign-in token) reaches the callback once, with
// its code and a description that names the fix, and the pop-up closes; the time from the click
// to the callback is printed, not asserted. A pop-up the user closes reaches the callback with no
// failed request and no console error on the app's page, and a result the pop-up posted just
// before it closed still wins.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { environment, results, sleep, clickForPopup } from './harness.mjs';

const env = environment({
  apps: (app) => [
    { client_id: 'e2e', trusted_domains: [`localhost:${app.port}`] },
    { client_id: 'returns', trusted_domains: [`localhost:${app.port}`], return_urls: [`http://localhost:${app.port}/elsewhere.html`] },
    { client_id: 'signed', trusted_domains: [`localhost:${app.port}`], api_key: 'k'.repeat(40), require_sign_in_token: true },
  ],
});

/** The app page at `origin` for `client_id`, in a fresh context; records console errors and failed requests. */
async function openApp({ client_id = 'e2e', scope = 'any', origin = env.app.origin } = {}) {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  const noise = [];
  page.on('console', (message) => { if (message.type() === 'error') noise.push(`console: ${message.text()} ${message.location()?.url}`); });
  page.on('requestfailed', (request) => noise.push(`failed: ${request.url()} ${request.failure()?.errorText}`));
  page.on('response', (response) => { if (response.status() >= 400) noise.push(`${response.status()}: ${response.url()}`); });
  await page.goto(`${origin}/app.html?${new URLSearchParams({ api: env.api.baseUrl, client_id, scope })}`);
  return { context, page, noise };
}

/** Clicks Connect; returns the pop-up and how long the callback took after the click (ms, page clock). */
async function launch(page) {
  await page.evaluate(() => {
    document.getElementById('connect').addEventListener('click', () => { window.clickedAt = performance.now(); }, { capture: true, once: true });
    window.calledAt = [];
    const push = window.results.push.bind(window.results);
    window.results.push = (result) => { window.calledAt.push(performance.now()); return push(result); };
  });
  const popup = await clickForPopup(page);
  const [result] = await results(page);
  const took = await page.evaluate(() => window.calledAt[0] - window.clickedAt);
  return { popup, result, took };
}

/** Waits past any late callback, and asserts there was exactly one. */
async function once(page) {
  await sleep(700);
  assert.equal((await page.evaluate(() => window.results)).length, 1, 'exactly one callback');
}

const untrusted = () => `http://127.0.0.1:${env.app.port}`;

for (const [name, options, code, fix] of [
  ['an unknown client_id', { client_id: 'nope' }, 'invalid_client', /check the client_id option/],
  ['an origin not among the Trusted Domains', { origin: 'untrusted' }, 'untrusted_origin', /add it to the app's trusted_domains/],
  ['a return page the app did not register', { client_id: 'returns' }, 'invalid_return_to', /return_urls/],
  ['an unknown scope', { scope: 'nothing-matches' }, 'invalid_scope', /scope/],
  ['a missing sign-in token', { client_id: 'signed' }, 'sign_in_token_required', /sign-in token/],
]) {
  test(`${name} reaches the callback at once as ${code}, and the pop-up closes`, async () => {
    const origin = options.origin === 'untrusted' ? untrusted() : env.app.origin;
    const { context, page, noise } = await openApp({ ...options, origin });
    const { popup, result, took } = await launch(page);
    console.log(`# ${code}: callback ${Math.round(took)} ms after the click; page noise: ${noise.length} ${JSON.stringify(noise)}`);
    assert.equal(result.error, code, JSON.stringify(result));
    assert.match(result.error_description, fix);
    assert.match(result.state, /^[0-9a-f]{32}$/, 'the flow\'s own state');
    assert.equal(result.access_token, undefined);
    await once(page);
    assert.ok(popup.isClosed(), 'no pop-up left open');
    await context.close();
  });
}

test('an ordinary close reaches the callback with no failed request and no console error', async () => {
  const { context, page, noise } = await openApp();
  const popup = await clickForPopup(page);
  // Closed on the chooser, whose beacon tells the server at once (a pop-up closed before its
  // first page reached the server may be one cut by COOP, and is waited for).
  await popup.waitForSelector('[data-service]');
  await page.evaluate(() => { window.calledAt = []; const push = window.results.push.bind(window.results); window.results.push = (r) => { window.calledAt.push(performance.now()); return push(r); }; });
  const closedAt = await page.evaluate(() => performance.now());
  await popup.close();
  const [result] = await results(page);
  const took = await page.evaluate((at) => window.calledAt[0] - at, closedAt);
  console.log(`# popup_closed: callback ${Math.round(took)} ms after the close`);
  assert.equal(result.error, 'popup_closed');
  await once(page);
  assert.deepEqual(noise, [], 'no failed request, no console error');
  await context.close();
});

test('a result posted just before the pop-up closes itself still wins over popup_closed', async () => {
  const { context, page } = await openApp({ scope: 'box' });
  const popup = await clickForPopup(page);
  // The server's pop-up is replaced by one that posts a result for this flow and closes at once.
  const request = await popup.evaluate(() => new URL(location.href).searchParams.get('request_id'));
  const state = await popup.evaluate(() => new URL(location.href).searchParams.get('state'));
  await popup.evaluate(([id, state]) => {
    const data = { error: 'access_denied', error_description: 'The user denied access.', state };
    window.opener.postMessage(`kloudless:${JSON.stringify({ type: 'authentication', id, data })}`, '*');
    window.close();
  }, [request, state]);
  const [result] = await results(page);
  assert.equal(result.error, 'access_denied', JSON.stringify(result));
  await once(page);
  await context.close();
});
