// The attack the old second channel allowed, end to end: an untrusted page opens the real pop-up
// for the real app, claiming the app's trusted origin; the victim connects in it; the attacker's
// script and a client that is not a browser (any Origin header it likes) then try every channel
// and endpoint. The token must never reach them: the browser delivers it only to the trusted
// origin, and the server keeps none to hand out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { environment, sleep, connect } from './harness.mjs';

const env = environment({
  apps: (app) => [{ client_id: 'e2e', trusted_domains: [`localhost:${app.port}`], return_urls: [`${app.origin}/app.html`] }],
});

/** The attacker's page, on 127.0.0.1 (the app is trusted on localhost only). */
async function openAttacker(context, query = {}) {
  const page = await context.newPage();
  const attackerOrigin = `http://127.0.0.1:${env.app.port}`;
  await page.goto(`${attackerOrigin}/attack.html?${new URLSearchParams({ api: env.api.baseUrl, app: env.app.origin, ...query })}`);
  return page;
}

/** Everything a non-browser client gets from every endpoint, with forged Origin headers. */
async function lootWithoutBrowser(requestId) {
  const answers = [];
  const form = `client_id=e2e&request_id=${requestId}&verifier=${'ab'.repeat(32)}`;
  for (const origin of [env.app.origin, 'http://evil.test', 'null']) {
    for (const [method, path] of [['POST', '/v1/oauth/progress'], ['POST', '/v1/oauth/rendezvous'],
      ['POST', '/v1/oauth/progress/abandon'], ['GET', '/v1/oauth/token/'], ['GET', '/v1/accounts/me/']]) {
      const reply = await fetch(`${env.api.baseUrl}${path}`, {
        method, body: method === 'POST' ? form : undefined,
        headers: { Origin: origin, 'Content-Type': 'application/x-www-form-urlencoded' },
      });
      answers.push(`${method} ${path} from ${origin}: ${reply.status} ${await reply.text()}`);
    }
  }
  return answers;
}

for (const noopener of [false, true]) {
  test(`an untrusted page that opens the pop-up${noopener ? ' without an opener' : ''} never gets the token`, async () => {
    const context = await env.browser.newContext();
    // A trusted page of the app is open in another tab, as a victim's would be.
    const victimTab = await context.newPage();
    await victimTab.goto(`${env.app.origin}/app.html?${new URLSearchParams({ api: env.api.baseUrl })}`);
    const attacker = await openAttacker(context, noopener ? { noopener: '1' } : {});
    const popupEvent = context.waitForEvent('page');
    await attacker.evaluate(() => window.attack());
    const popup = await popupEvent;
    await popup.waitForLoadState();
    // The victim connects; the token is in the result page the server sends the pop-up (read
    // on its way: without an opener, the page moves on at once).
    let html;
    await popup.route(/\/v1\/oauth$/, async (route) => {
      const response = await route.fetch();
      html = await response.text();
      await route.fulfill({ response });
    });
    await connect(popup, 'box', 'victim@example.com');
    for (let i = 0; i < 50 && !html; i++) await sleep(100);
    const token = JSON.parse(/id="kloudless-result">(.*?)<\/script>/s.exec(html)[1]).data.access_token;
    assert.match(token, /\S{20,}/);
    await sleep(1500);
    if (noopener) {
      // No opener: the pop-up went back to the app's own page (trusted origin), which handed the
      // result to its origin, where nothing awaited it.
      assert.ok(popup.isClosed() || popup.url().startsWith(env.app.origin), popup.url());
    } else {
      assert.ok(popup.url().startsWith(env.api.baseUrl), 'with an opener, the pop-up stays on the server');
    }
    const seen = await attacker.evaluate(() => window.loot());
    const requestId = await attacker.evaluate(() => window.requestId);
    const answers = await lootWithoutBrowser(requestId);
    assert.ok(seen.length >= 12 && answers.length === 15, `${seen.length} ${answers.length}`);
    for (const line of [...seen, ...answers]) assert.ok(!line.includes(token), `the token leaked: ${line}`);
    assert.ok(!seen.some((line) => line.startsWith('message from') || line.startsWith('broadcast')),
      `nothing was posted to the attacker: ${seen}`);
    assert.equal(await victimTab.evaluate(() => window.results.length), 0, 'the trusted tab took nothing');
    await context.close();
  });
}

// The attack on the return page: a pop-up opened without an opener, whose `return_to` is an open
// redirect on the trusted origin (or a blob: URL of it, or a `//` path), once took the bearer
// token, in the URL fragment, to the attacker's page. Only a registered return page may be one.
for (const [name, returnTo] of [
  ['an open redirect of the trusted origin', (app, attacker) => `${app}/redirect.html?next=${encodeURIComponent(`${attacker}/attack.html?caught=1`)}`],
  ['a blob: URL of the trusted origin', (app) => `blob:${app}/0b7e1a4c-5c4e-4a4f-9d1e-3f2a1b0c9d8e`],
  ['a // path on the trusted origin', (app, attacker) => `${app}//${attacker.slice('http://'.length)}/attack.html`],
]) {
  test(`a pop-up opened without an opener and returning to ${name} puts nothing into the attacker's page`, async () => {
    const context = await env.browser.newContext();
    const attackerOrigin = `http://127.0.0.1:${env.app.port}`;
    const attacker = await openAttacker(context, { noopener: '1', return_to: returnTo(env.app.origin, attackerOrigin) });
    const popupEvent = context.waitForEvent('page');
    await attacker.evaluate(() => window.attack());
    const popup = await popupEvent;
    const moves = [];
    popup.on('framenavigated', (frame) => frame === popup.mainFrame() && moves.push(frame.url()));
    await popup.waitForLoadState();
    // The victim connects, if the pop-up lets them.
    if (await popup.locator('input[name="account"]').count()) await connect(popup, 'box', 'victim@example.com');
    await sleep(2000);
    const pages = context.pages().map((page) => page.url());
    const everywhere = [...moves, ...pages];
    assert.ok(!everywhere.some((url) => url.includes('kloudless-result=')), `no result left the server: ${everywhere}`);
    assert.ok(!everywhere.some((url) => url.includes('caught=1') || url.includes('/attack.html') && url !== attacker.url()),
      `nothing reached the attacker: ${everywhere}`);
    // The server refused the pop-up at once, naming the problem for the app's developer.
    assert.equal(await popup.getAttribute('body', 'data-result'), 'refused');
    assert.match(await popup.textContent('body'), /return_to/);
    await context.close();
  });
}
