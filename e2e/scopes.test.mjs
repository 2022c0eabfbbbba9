// The original README's three examples end to end, in headless Chromium through the library,
// against a real OpenID provider (npm oidc-provider, e2e/upstream.mjs): upstream scopes nested in
// `scope` reach the provider as requested, `raw: {login_hint}` reaches it (its login page
// pre-fills the login from it), `custom_properties` come back on the account, and `extra_data`'s
// hostname pre-fills the per-server form. A nested scope the operator does not allow reaches the
// callback at once as invalid_scope (a setup error), with no request to the provider.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, startApi, launchBrowser, freePort, clickForPopup, onlyResult } from './harness.mjs';
import { startOidc } from './upstream.mjs';
import { signIn } from './connect.mjs';

const secret = 'e2e-client-secret-0123456789abcdef';
let app, api, browser, upstream;

before(async () => {
  app = await startApp();
  const port = await freePort();
  const redirect_uris = ['acme', 'acme_server'].map((id) => `http://127.0.0.1:${port}/v1/oauth/callback/${id}`);
  upstream = await startOidc({ clients: [{ client_id: 'broker', client_secret: secret, redirect_uris }] });
  const provider = (id, lines) => `[[providers]]\nid = "${id}"\nname = "${id}"\ncategory = "storage"\n`
    + `client_id = "broker"\nclient_secret = "${secret}"\n${lines}\n`;
  const config = provider('acme', `kind = "oidc"\nissuer = "${upstream.issuer}"\n`
      + 'allowed_scopes = ["openid", "email"]\nraw_params = ["login_hint"]')
    + provider('acme_server', 'kind = "oauth2"\nhostname_pattern = "127.0.0.1:*"\n'
      + 'authorization_url = "http://{hostname}/auth"\ntoken_url = "http://{hostname}/token"\n'
      + 'identity_url = "http://{hostname}/me"');
  api = await startApi([{ client_id: 'e2e', trusted_domains: [`localhost:${app.port}`] }], {
    listen: `127.0.0.1:${port}`,
    prelude: `public_url = "http://127.0.0.1:${port}"\nallow_private_upstreams = true\n`,
    config,
  });
  browser = await launchBrowser();
});

after(() => Promise.all([browser?.close(), api?.stop(), app?.stop(), upstream?.stop()]));

/**
 * The app page asking for `scope` with more library `options`, in a fresh context that records
 * the authorization requests the browser sends to the provider (their query parameters).
 */
async function openApp(scope, options) {
  const context = await browser.newContext();
  const authorizations = [];
  context.on('request', (request) => {
    const url = new URL(request.url());
    if (url.origin === upstream.issuer && url.pathname === '/auth') authorizations.push(Object.fromEntries(url.searchParams));
  });
  const page = await context.newPage();
  const query = new URLSearchParams({ api: api.baseUrl, scope, options: JSON.stringify(options) });
  await page.goto(`${app.origin}/app.html?${query}`);
  return { context, page, authorizations };
}

test('nested scopes and raw[login_hint] reach the provider; custom_properties come back on the account', async () => {
  const options = { raw: { login_hint: 'alice' }, custom_properties: { crm_id: 42, tags: ['vip'] } };
  const { context, page, authorizations } = await openApp('acme.storage."openid email":raw', options);
  const popup = await clickForPopup(page);
  await popup.waitForURL(/\/interaction\//);
  assert.equal(await popup.inputValue('input[name="login"]'), 'alice', 'the provider read login_hint');
  await signIn(popup, 'alice');
  const result = await onlyResult(page);
  await context.close();
  assert.equal(result.account?.account, 'alice@upstream.test', JSON.stringify(result));
  assert.deepEqual(result.account.custom_properties, { crm_id: 42, tags: ['vip'] });
  assert.equal(authorizations.length, 1);
  assert.equal(authorizations[0].scope, 'openid email', 'the nested scopes, not the defaults');
  assert.equal(authorizations[0].login_hint, 'alice');
});

test('a nested scope the operator does not allow reaches the callback at once, before the provider', async () => {
  const { context, page, authorizations } = await openApp('acme."openid offline_access":raw', {});
  const popup = await clickForPopup(page);
  const result = await onlyResult(page);
  assert.equal(result.error, 'invalid_scope');
  assert.match(result.error_description, /The upstream scope "offline_access" is not allowed for the service acme/);
  assert.ok(popup.isClosed(), 'the pop-up closed itself');
  assert.deepEqual(authorizations, [], 'no request reached the provider');
  await context.close();
});

test('extra_data pre-fills the per-server form with its hostname', async () => {
  const host = new URL(upstream.issuer).host;
  const { context, page, authorizations } = await openApp('acme_server', { extra_data: { hostname: host } });
  const popup = await clickForPopup(page);
  assert.equal(await popup.inputValue('input[name="hostname"]'), host);
  await popup.click('[data-action="continue"]');
  await signIn(popup, 'ivan');
  const result = await onlyResult(page);
  await context.close();
  assert.equal(result.account?.service, 'acme_server', JSON.stringify(result));
  assert.equal(authorizations.length, 1, 'the typed (pre-filled) server was used');
});
