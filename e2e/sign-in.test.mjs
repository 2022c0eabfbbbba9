// Single-use sign-in tokens through the library in Chromium: an app that requires them, a
// token minted by the test with the app's API key and passed as the `sign_in_token` option;
// the flow goes through a real upstream's sign-in (npm oidc-provider) and back, and the account
// names the end user. Without a token the callback gets `sign_in_token_required`, with one already used
// `invalid_sign_in_token` (and the library closes the pop-up); a value that is not a token
// throws at the call. An attacker's flow (his own token) whose upstream authorization URL the
// victim completes in another browser is refused at our callback: nothing is saved under the
// attacker, and the victim's account keeps its user.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, startApi, launchBrowser, freePort, clickForPopup, onlyResult } from './harness.mjs';
import { startOidc } from './upstream.mjs';
import { signIn } from './connect.mjs';

const secret = 'e2e-client-secret-0123456789abcdef';
const key = 'e2e-sign-in-api-key-0123456789';
let app, api, browser, upstream;

before(async () => {
  app = await startApp();
  const port = await freePort();
  upstream = await startOidc({
    clients: [{ client_id: 'broker', client_secret: secret, redirect_uri: `http://127.0.0.1:${port}/v1/oauth/callback/acme` }],
  });
  const config = `[[providers]]\nid = "acme"\nkind = "oidc"\nname = "Acme ID"\ncategory = "storage"\n`
    + `client_id = "broker"\nclient_secret = "${secret}"\nissuer = "${upstream.issuer}"\n`;
  api = await startApi([
    { client_id: 'e2e', trusted_domains: [`localhost:${app.port}`], api_key: key, require_sign_in_token: true },
  ], {
    listen: `127.0.0.1:${port}`,
    // The upstream is on 127.0.0.1: the test allows private upstreams explicitly.
    prelude: `public_url = "http://127.0.0.1:${port}"\nallow_private_upstreams = true\n`,
    config,
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await api?.stop();
  app?.stop();
  await upstream?.stop();
});

/** A sign-in token of the app for `user_id`, minted as its backend would. */
async function mint(user_id) {
  const reply = await fetch(`${api.baseUrl}/v1/sign_in_tokens`, {
    method: 'POST',
    headers: { authorization: `APIKey ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user_id }),
  });
  assert.equal(reply.status, 201);
  const minted = await reply.json();
  assert.equal(minted.expires_in, 300);
  return minted.token;
}

/** The app page asking for the provider, with `signInToken` as the option when given. */
async function openApp(signInToken) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const query = { api: api.baseUrl, scope: 'acme', ...(signInToken === undefined ? {} : { sign_in_token: signInToken }) };
  await page.goto(`${app.origin}/app.html?${new URLSearchParams(query)}`);
  return { context, page, errors };
}

/** Opens the pop-up without a usable token: it must end at once in the callback's error. */
async function assertRefused(signInToken, code = 'invalid_sign_in_token') {
  const { context, page } = await openApp(signInToken);
  const popup = await clickForPopup(page);
  const result = await onlyResult(page);
  assert.equal(result.error, code, JSON.stringify(result));
  assert.match(result.error_description, /sign-in token/);
  assert.equal(result.access_token, undefined);
  assert.ok(popup.isClosed(), 'the library closes the pop-up');
  await context.close();
}

test('with a token minted by the backend the flow completes through the upstream and the account names the user', async () => {
  const token = await mint('user-42');
  const { context, page } = await openApp(token);
  const popup = await clickForPopup(page);
  await signIn(popup, 'ann');
  const result = await onlyResult(page);
  assert.equal(result.error, undefined, JSON.stringify(result));
  assert.equal(result.account.account, 'ann@upstream.test');
  assert.equal(result.account.user_id, 'user-42');
  await context.close();

  // The token's flow has its result: another pop-up with it is refused.
  await assertRefused(token);
});

test('an app that requires a token refuses a pop-up without one', async () => {
  await assertRefused(undefined, 'sign_in_token_required');
});

test('a value that is not a token throws at the call', async () => {
  const { context, errors } = await openApp('not a token');
  assert.match(errors.join('\n'), /'sign_in_token' must be a token from POST \/v1\/sign_in_tokens/);
  await context.close();
});

/** The app's accounts, as its backend lists them with its API key. */
async function accounts() {
  const reply = await fetch(`${api.baseUrl}/v1/accounts/`, { headers: { authorization: `APIKey ${key}` } });
  assert.equal(reply.status, 200);
  return (await reply.json()).objects;
}

test("an attacker's flow completed in the victim's browser is refused: the victim's account is not moved to him", async () => {
  // The victim's own account, connected for the victim.
  const victimToken = await mint('victim');
  const own = await openApp(victimToken);
  await signIn(await clickForPopup(own.page), 'vic');
  assert.equal((await onlyResult(own.page)).account.user_id, 'victim');
  await own.context.close();

  // The attacker, an ordinary user of the app, starts a pop-up with his own token in his browser
  // and keeps the upstream's authorization URL it leads to.
  const attacker = await openApp(await mint('attacker'));
  let authorizationUrl;
  attacker.context.on('request', (request) => {
    if (!authorizationUrl && request.url().startsWith(`${upstream.issuer}/auth`)) authorizationUrl = request.url();
  });
  const popup = await clickForPopup(attacker.page);
  await popup.waitForURL(/\/interaction\//);
  assert.ok(authorizationUrl, 'the pop-up went to the upstream');

  // The victim, in another browser (its own binding cookie), completes that URL.
  const victim = await browser.newContext();
  await victim.addCookies([{ name: 'kloudless-browser', value: 'b'.repeat(64), url: api.baseUrl }]);
  const page = await victim.newPage();
  const callback = page.waitForResponse((response) => response.url().includes('/v1/oauth/callback'));
  await page.goto(authorizationUrl);
  await signIn(page, 'vic');
  const refused = await callback;
  assert.equal(refused.status(), 403);
  assert.match(await refused.text(), /started in another browser/);
  await victim.close();
  await attacker.context.close();

  const listed = await accounts();
  assert.deepEqual(listed.filter((account) => account.account === 'vic@upstream.test').map((account) => account.user_id),
    ['victim'], 'the victim\'s account is not reassigned');
  assert.equal(listed.filter((account) => account.user_id === 'attacker').length, 0, 'nothing saved under the attacker');
});
