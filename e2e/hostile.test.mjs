// Hostile parties flood the app page with forged `kloudless:` messages while a real flow runs:
// the real flow must still end with exactly one callback, its own, and no forgery may cause one.
//
// Party 1, a cross-origin iframe inside the app page (http://127.0.0.1:<app port>, a third origin:
// the app is on localhost:<app port>, the API on 127.0.0.1:<api port>), posts to `parent`.
// Party 2, a window on the API server's own origin (http://127.0.0.1:<api port>/hostile-attacker.html,
// fulfilled by context.route) opened by the app page, posts to `opener`: its messages pass the
// origin check, so only the source check (the pop-up or relay the library opened) stops them.
// Both also post into every frame of the app page (the library's relay must forward none of it).
// Both run e2e/pages/hostile-forger.html; once the real pop-up is open, the test hands them its
// request id and state, so they forge messages that are right in every respect but the sender.
//
// Why this fails without the source check: party 2's valid-shaped messages carry the API origin,
// the real request id and the real state. The test waits until hundreds of them have reached the
// app page while the flow still awaits its result, and checks no callback happened. Without the
// source check, the first one would be accepted: a forged error ends the flow at once with
// `forged_error`, a forged token ends it with `token_verification_failed` (the server knows no
// 'forged-…' token); either way `results` is non-empty before the user connects, and the final
// result is not the real success / access_denied. (Checked by hand: the very same forged error,
// posted by party 2 from the relay's realm — `opener.frames[i].Function(...)`, possible because the
// relay is same-origin with it — has source = relay and IS accepted: every other check passes, so
// the source check alone stops party 2. Script running on the API origin is trusted by design.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { environment, clickForPopup, connect, root, onlyResult } from './harness.mjs';

const forger = readFileSync(join(root, 'e2e/pages/hostile-forger.html'), 'utf8');

const env = environment();

/** Counts, in the app page, the `kloudless:` messages from each party, and the valid-shaped ones. */
function installCounter() {
  const bucket = () => ({ strings: 0, prefixed: 0, other: 0, valid: 0, origins: [] });
  window.__real = null;
  window.__count = { frame: bucket(), attacker: bucket(), rest: bucket() };
  window.addEventListener('message', (event) => {
    const frame = document.getElementById('hostile-frame');
    const key = frame && event.source === frame.contentWindow ? 'frame'
      : window.__attacker && event.source === window.__attacker ? 'attacker' : 'rest';
    const count = window.__count[key];
    if (!count.origins.includes(event.origin)) count.origins.push(event.origin);
    if (typeof event.data !== 'string') { count.other += 1; return; }
    count.strings += 1;
    if (!event.data.startsWith('kloudless:')) return;
    count.prefixed += 1;
    const real = window.__real;
    if (!real || event.data.length > 65536) return;
    try {
      const message = JSON.parse(event.data.slice('kloudless:'.length));
      if (message.type === 'authentication' && message.id === real.id && message.data.state === real.state) count.valid += 1;
    } catch { /* malformed on purpose */ }
  });
}

/** The app page with the counter, party 1's iframe and party 2's window, all flooding. */
async function hostileApp() {
  const context = await env.browser.newContext();
  const attackerUrl = `${new URL(env.api.baseUrl).origin}/hostile-attacker.html`;
  await context.route(attackerUrl, (route) => route.fulfill({ contentType: 'text/html', body: forger }));
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(`${env.app.origin}/app.html?${new URLSearchParams({ api: env.api.baseUrl, scope: 'box' })}`);
  await page.evaluate(installCounter);

  // Party 1: a cross-origin iframe.
  const frameUrl = `http://127.0.0.1:${env.app.port}/hostile-forger.html`;
  await page.evaluate((src) => {
    const iframe = document.createElement('iframe');
    iframe.id = 'hostile-frame';
    iframe.src = src;
    document.body.append(iframe);
  }, frameUrl);
  await page.waitForFunction(() => window.__count.frame.prefixed > 0);
  const frame = page.frames().find((f) => f.url() === frameUrl);
  assert.ok(frame, 'the hostile iframe is loaded');

  // Party 2: a window on the API origin, opened by the app page (not named kPOPUP).
  const opened = context.waitForEvent('page');
  await page.evaluate((url) => { window.__attacker = window.open(url, 'hostile', 'width=300,height=300'); }, attackerUrl);
  const attacker = await opened;
  await attacker.waitForLoadState();
  await page.waitForFunction(() => window.__count.attacker.prefixed > 0);

  /** Tells both forgers (and the counter) the real pop-up's request id and state. */
  const reveal = async (popup) => {
    const url = new URL(popup.url());
    const known = { id: url.searchParams.get('request_id'), state: url.searchParams.get('state'), popupUrl: url.href };
    assert.match(known.id, /^[0-9a-f]{32}$/);
    assert.match(known.state, /^[0-9a-f]{32}$/);
    await page.evaluate((k) => { window.__real = k; }, known);
    await frame.evaluate((k) => { window.known = k; }, known);
    await attacker.evaluate((k) => { window.known = k; }, known);
    return known;
  };
  const counts = () => page.evaluate(() => window.__count);
  return { context, page, errors, attacker, reveal, counts };
}

/** Waits until both parties have delivered `n` valid-shaped forgeries (real id and state) to the app page. */
async function floodWithRealIds(page, n = 200) {
  await page.waitForFunction((min) => window.__count.frame.valid >= min && window.__count.attacker.valid >= min,
    n, { timeout: 20000 });
  assert.deepEqual(await page.evaluate(() => window.results), [], 'no forged message caused a callback');
}


/** The flood really happened: hundreds of `kloudless:` strings from each party, from the expected origins. */
function assertFlooded(count, { valid = 200 } = {}) {
  assert.deepEqual(count.frame.origins, [`http://127.0.0.1:${env.app.port}`]);
  assert.deepEqual(count.attacker.origins, [new URL(env.api.baseUrl).origin], 'party 2 passes the origin check');
  for (const party of ['frame', 'attacker']) {
    assert.ok(count[party].prefixed >= 1000, `${party}: ${count[party].prefixed} forged kloudless: strings`);
    assert.ok(count[party].other >= 100, `${party}: ${count[party].other} non-string messages`);
    assert.ok(count[party].valid >= valid, `${party}: ${count[party].valid} valid-shaped forgeries`);
  }
}

async function assertUnpolluted(page) {
  assert.deepEqual(await page.evaluate(() => [({}).error, ({}).access_token, Object.prototype.hasOwnProperty('type')]),
    [undefined, undefined, false]);
}

test('a real connection succeeds, once, with its own token, through a flood of forgeries', async () => {
  const { context, page, errors, reveal, counts } = await hostileApp();
  const popup = await clickForPopup(page);
  await reveal(popup);
  await floodWithRealIds(page);
  await connect(popup, 'box', 'flooded@example.com');
  const result = await onlyResult(page, 2000);
  assert.equal(result.error, undefined, `success expected, got ${JSON.stringify(result)}`);
  assert.doesNotMatch(result.access_token, /forged/);
  assert.equal(result.token_type, 'Bearer');
  assert.equal(result.scope, 'box:normal.storage');
  assert.equal(result.account.service, 'box');
  assert.equal(result.account.account, 'flooded@example.com');
  // The token is the server's, and it is this account's.
  const reply = await fetch(`${env.api.baseUrl}/v1/oauth/token/`, { headers: { Authorization: `Bearer ${result.access_token}` } });
  assert.equal(reply.status, 200);
  const grant = await reply.json();
  assert.equal(grant.client_id, 'e2e');
  assert.equal(grant.account_id, result.account.id);
  const count = await counts();
  assertFlooded(count);
  // The only other kloudless: message the app page got is the real pop-up's.
  assert.equal(count.rest.prefixed, 1);
  await assertUnpolluted(page);
  assert.deepEqual(errors, []);
  console.log('success flood', JSON.stringify(count));
  await context.close();
});

test('a real denial reports access_denied, once, through a flood of forgeries', async () => {
  const { context, page, errors, reveal, counts } = await hostileApp();
  const popup = await clickForPopup(page);
  const known = await reveal(popup);
  await floodWithRealIds(page);
  await popup.click('[data-action="deny"]');
  const result = await onlyResult(page, 2000);
  assert.deepEqual(result, { error: 'access_denied', error_description: 'The user denied access.', state: known.state });
  const count = await counts();
  assertFlooded(count);
  assert.equal(count.rest.prefixed, 1);
  await assertUnpolluted(page);
  assert.deepEqual(errors, []);
  console.log('deny flood', JSON.stringify(count));
  await context.close();
});

test('with no flow pending, a flood of forgeries causes no callback and no error', async () => {
  const { context, page, errors, counts } = await hostileApp();
  // The authenticator exists (app.html made it) but was never launched; flood for about a second.
  const start = await page.evaluate(() => performance.now());
  await page.waitForFunction((t0) => performance.now() - t0 >= 1000
    && ['frame', 'attacker'].every((p) => window.__count[p].prefixed >= 1000 && window.__count[p].other >= 100),
  start, { timeout: 20000 });
  assert.deepEqual(await page.evaluate(() => window.results), []);
  const count = await counts();
  assertFlooded(count, { valid: 0 });
  assert.equal(count.rest.prefixed, 0);
  await assertUnpolluted(page);
  assert.deepEqual(errors, []);
  console.log('idle flood', JSON.stringify(count));
  await context.close();
});
