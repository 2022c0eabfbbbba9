// The server as a broker, against a real OpenID provider (npm oidc-provider on 127.0.0.1, PKCE
// required, its development login and consent pages), in headless Chromium through the library:
// click → (chooser) → upstream login → consent → our callback → the page's callback gets an
// account whose login is the upstream user's. Denial (also one redirected without state), the same
// user twice, a forged or replayed state, an upstream token endpoint down or slow, a provider
// configured by issuer only (discovery) and by its URLs, a per-server provider (two servers, chosen
// by the hostname typed in the pop-up), an API-key service (a small local upstream that checks the key), and upstream
// pages that cut the pop-up from its opener (COOP).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createServer } from 'node:http';
import { startApp, startApi, launchBrowser, freePort, clickForPopup, onlyResult, openApp as openAppAt } from './harness.mjs';
import { startOidc } from './upstream.mjs';
import { signIn, connectAs as connectAsAt } from './connect.mjs';

const secret = 'e2e-client-secret-0123456789abcdef';
let app, api, browser, upstream, serverA, serverB, keyServer;

before(async () => {
  app = await startApp();
  const port = await freePort();
  // Each provider's own redirect URI.
  const redirect_uris = (...ids) => ids.map((id) => `http://127.0.0.1:${port}/v1/oauth/callback/${id}`);
  const client = (ids) => ({ client_id: 'broker', client_secret: secret, redirect_uris: redirect_uris(...ids) });
  upstream = await startOidc({ clients: [client(['acme', 'acme_urls', 'acme_introspect', 'acme_down'])] });
  // Two servers of one per-server provider, chosen by the hostname typed in the pop-up.
  serverA = await startOidc({ clients: [client(['acme_server'])] });
  serverB = await startOidc({ clients: [client(['acme_server'])] });
  // An API-key service: GET /me with `Bearer right-key` names the user, anything else is a 401.
  keyServer = createServer((req, res) => {
    if (req.headers.authorization !== 'Bearer right-key') return res.writeHead(401).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ sub: 'kay', email: 'kay@keys.test' }));
  });
  await new Promise((resolve) => keyServer.listen(0, '127.0.0.1', resolve));
  const provider = (id, name, lines) => `[[providers]]\nid = "${id}"\nname = "${name}"\ncategory = "storage"\n`
    + `client_id = "broker"\nclient_secret = "${secret}"\n${lines}\n`;
  const config = provider('acme', 'Acme ID', `kind = "oidc"\nissuer = "${upstream.issuer}"`)
    + provider('acme_urls', 'Acme by URLs', `kind = "oauth2"\nauthorization_url = "${upstream.issuer}/auth"\n`
      + `token_url = "${upstream.issuer}/token"\nidentity_url = "${upstream.issuer}/me"`)
    + provider('acme_introspect', 'Acme by introspection', `kind = "oauth2"\nauthorization_url = "${upstream.issuer}/auth"\n`
      + `token_url = "${upstream.issuer}/token"\nidentity_url = "${upstream.issuer}/token/introspection"\n`
      + 'identity_method = "INTROSPECT"\nidentity = { id = "/sub" }')
    + provider('acme_down', 'Acme, token endpoint down', `kind = "oauth2"\nauthorization_url = "${upstream.issuer}/auth"\n`
      + `token_url = "http://127.0.0.1:1/token"\nidentity_url = "${upstream.issuer}/me"`)
    + provider('acme_server', 'Acme Server', 'kind = "oauth2"\nhostname_pattern = "127.0.0.1:*"\n'
      + 'authorization_url = "http://{hostname}/auth"\ntoken_url = "http://{hostname}/token"\n'
      + 'identity_url = "http://{hostname}/me"')
    + `[[providers]]\nid = "keyed"\nkind = "api_key"\nname = "Keyed"\ncategory = "crm"\n`
    + `check_url = "http://127.0.0.1:${keyServer.address().port}/me"\n`
    + '[[providers]]\nid = "box"\nkind = "demo"\n';
  api = await startApi([{ client_id: 'e2e', trusted_domains: [`localhost:${app.port}`], return_urls: [`${app.origin}/app.html`] }], {
    listen: `127.0.0.1:${port}`,
    // The upstream is on 127.0.0.1: the tests allow private upstreams explicitly.
    prelude: `public_url = "http://127.0.0.1:${port}"\nallow_private_upstreams = true\nupstream_timeout_secs = 2\n`,
    config,
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  api?.stop();
  app?.stop();
  await upstream?.stop();
  await serverA?.stop();
  await serverB?.stop();
  keyServer?.close();
});

/** Connects `login` through the provider `scope` names; returns the page's only result. */
const connectAs = (scope, login, options) => connectAsAt({ browser, app, api }, scope, login, options);

/** The app page asking for `scope`, in a fresh context. */
const openApp = (scope) => openAppAt(browser, app, api, scope);

test('connects the upstream user through the chooser: the account is theirs, the tokens are sealed', async () => {
  const result = await connectAs('acme', 'alice', { chooser: true });
  assert.equal(result.token_type, 'Bearer', JSON.stringify(result));
  assert.equal(result.scope, 'acme:normal.storage');
  assert.equal(result.account.service, 'acme');
  assert.equal(result.account.service_name, 'Acme ID');
  assert.equal(result.account.account, 'alice@upstream.test');
  assert.equal(result.account.active, true);
  // The database holds none of the upstream's tokens in plaintext (read the SQLite files; the
  // PostgreSQL run skips this).
  if (api.database.startsWith('postgres')) return;
  const issued = upstream.issuedTokens();
  assert.ok(issued.length >= 1, 'the upstream issued tokens');
  const dir = dirname(api.database);
  const bytes = readdirSync(dir).filter((f) => f.startsWith('db.sqlite'))
    .map((f) => readFileSync(join(dir, f)).toString('latin1')).join('');
  assert.ok(bytes.includes('alice@upstream.test'), 'the database file was read');
  for (const token of issued) assert.ok(!bytes.includes(token), 'no upstream token in plaintext');
});

test('the same upstream user connected again is the same account; another user is another', async () => {
  const first = await connectAs('acme', 'bob');
  const again = await connectAs('acme', 'bob');
  const other = await connectAs('acme', 'carol');
  assert.equal(again.account.id, first.account.id);
  assert.notEqual(again.access_token, first.access_token);
  assert.notEqual(other.account.id, first.account.id);
  assert.equal(other.account.account, 'carol@upstream.test');
});

test('a provider configured by its URLs (no discovery) connects too', async () => {
  const result = await connectAs('acme_urls', 'dave');
  assert.equal(result.account.service, 'acme_urls');
  assert.equal(result.account.account, 'dave@upstream.test');
});

test('a provider whose identity is read by token introspection (as HubSpot v3) connects too', async () => {
  const result = await connectAs('acme_introspect', 'erin');
  assert.equal(result.account.service, 'acme_introspect');
  assert.equal(result.account.account, 'erin', 'the introspection reply\'s sub');
});

test('consent denied at the upstream gives access_denied', async () => {
  const { context, page } = await openApp('acme');
  const popup = await clickForPopup(page);
  await popup.waitForURL(/\/interaction\//);
  await popup.click('a:has-text("Cancel")');
  const result = await onlyResult(page);
  assert.equal(result.error, 'access_denied', JSON.stringify(result));
  assert.equal(result.access_token, undefined);
  await context.close();
});

test('a denial redirected without state (as authlib-based providers send it) reaches the callback once', async () => {
  const { context, page } = await openApp('acme');
  const popup = await clickForPopup(page);
  await popup.waitForURL(/\/interaction\//);
  // The provider's denial, sent back to our callback without the state it was given (with the
  // `iss` it advertises, RFC 9207, still checked): the pop-up's binding cookie names the one flow
  // this browser has open at acme. (The result page closes the pop-up, which may end the navigation.)
  const denial = new URLSearchParams({ error: 'access_denied', error_description: 'No thanks', iss: upstream.issuer });
  await popup.goto(`${api.baseUrl}/v1/oauth/callback/acme?${denial}`)
    .catch((error) => { if (!popup.isClosed()) throw error; });
  const result = await onlyResult(page);
  assert.equal(result.error, 'access_denied', JSON.stringify(result));
  assert.equal(result.error_description, 'No thanks');
  assert.equal(result.access_token, undefined);
  await context.close();
});

test('a forged or replayed state at our callback is refused, nothing connected', async () => {
  const forged = await fetch(`${api.baseUrl}/v1/oauth/callback?state=forged&code=abc`);
  assert.equal(forged.status, 400);
  assert.match(await forged.text(), /unknown, expired or already finished/);
  const missing = await fetch(`${api.baseUrl}/v1/oauth/callback?code=abc`);
  assert.equal(missing.status, 400);
  const twice = await fetch(`${api.baseUrl}/v1/oauth/callback?state=a&state=b`);
  assert.equal(twice.status, 400);
  // A real callback URL, used once by the browser, then replayed.
  const { context, page } = await openApp('acme');
  let callback;
  context.on('request', (request) => {
    if (request.url().includes('/v1/oauth/callback')) callback = request.url();
  });
  const popup = await clickForPopup(page);
  await signIn(popup, 'erin');
  const result = await onlyResult(page);
  assert.ok(result.access_token);
  const replayed = await fetch(callback);
  assert.equal(replayed.status, 400);
  assert.match(await replayed.text(), /unknown, expired or already finished/);
  await context.close();
});

test('an upstream token endpoint that is down ends in a clear error result', async () => {
  const result = await connectAs('acme_down', 'frank');
  assert.equal(result.error, 'temporarily_unavailable', JSON.stringify(result));
  assert.match(result.error_description, /token endpoint could not be reached/);
});

test('an upstream token endpoint that is slow ends in a clear error result', async () => {
  upstream.set({ slowTokenMs: 4000 });
  try {
    const started = Date.now();
    const result = await connectAs('acme', 'grace');
    assert.equal(result.error, 'temporarily_unavailable', JSON.stringify(result));
    assert.match(result.error_description, /did not answer in time/);
    assert.ok(Date.now() - started < 15000);
  } finally {
    upstream.set({ slowTokenMs: 0 });
  }
});

test('upstream pages that cut the pop-up from its opener (COOP): connect and deny reach the callback once', async () => {
  upstream.set({ coop: true });
  try {
    const connected = await connectAs('acme', 'heidi');
    assert.equal(connected.account.account, 'heidi@upstream.test', JSON.stringify(connected));
    const { context, page } = await openApp('acme');
    const popup = await clickForPopup(page);
    await popup.waitForURL(/\/interaction\//);
    await popup.click('a:has-text("Cancel")');
    const denied = await onlyResult(page);
    assert.equal(denied.error, 'access_denied', JSON.stringify(denied));
    await context.close();
  } finally {
    upstream.set({ coop: false });
  }
});

test('the demo provider still connects beside the real ones', async () => {
  const { context, page } = await openApp('box');
  const popup = await clickForPopup(page);
  await popup.fill('input[name="account"]', 'demo@example.com');
  await popup.click('[data-action="connect"]');
  const result = await onlyResult(page);
  assert.equal(result.account.service_name, 'Box (demo)');
  await context.close();
});

test('a per-server provider connects to the server whose hostname is typed; a bad hostname is a form error', async () => {
  const ids = [];
  for (const server of [serverA, serverB]) {
    const counts = [serverA.tokenRequests(), serverB.tokenRequests()];
    const { context, page } = await openApp('acme_server');
    const popup = await clickForPopup(page);
    await popup.fill('input[name="hostname"]', new URL(server.issuer).host);
    await popup.click('[data-action="continue"]');
    await signIn(popup, 'ivan');
    const result = await onlyResult(page);
    assert.equal(result.account?.account, 'ivan@upstream.test', JSON.stringify(result));
    assert.equal(result.account.service, 'acme_server');
    const other = server === serverA ? serverB : serverA;
    assert.equal(server.tokenRequests(), counts[server === serverA ? 0 : 1] + 1, 'the code went to the server typed');
    assert.equal(other.tokenRequests(), counts[other === serverA ? 0 : 1], 'and not to the other');
    ids.push(result.account.id);
    await context.close();
  }
  assert.notEqual(ids[0], ids[1], 'the same login on two servers is two accounts');
  // A hostname that does not match the pattern: the form again, with the reason.
  const { context, page } = await openApp('acme_server');
  const popup = await clickForPopup(page);
  await popup.fill('input[name="hostname"]', 'evil.example.com');
  await popup.click('[data-action="continue"]');
  await popup.waitForSelector('[data-error="hostname"]');
  assert.match(await popup.textContent('[data-error="hostname"]'), /is not a server name of the form 127\.0\.0\.1:\*/);
  assert.equal((await page.evaluate(() => window.results)).length, 0);
  await context.close();
});

test('an API-key service: a wrong key is a form error and connects nothing; the right one connects', async () => {
  const { context, page } = await openApp('keyed');
  const popup = await clickForPopup(page);
  await popup.fill('input[name="api_key"]', 'wrong-key');
  await popup.click('[data-action="connect"]');
  await popup.waitForSelector('[data-error="credentials"]');
  assert.match(await popup.textContent('[data-error="credentials"]'), /Keyed refused these credentials/);
  assert.ok(!(await popup.content()).includes('wrong-key'), 'the key typed is not sent back');
  assert.equal((await page.evaluate(() => window.results)).length, 0);
  await popup.fill('input[name="api_key"]', 'right-key');
  await popup.click('[data-action="connect"]');
  const result = await onlyResult(page);
  assert.equal(result.account?.account, 'kay@keys.test', JSON.stringify(result));
  assert.equal(result.account.service, 'keyed');
  await context.close();
});

test("the upstream's own error code reaches the result: a code it never issued gives invalid_grant", async () => {
  // A pop-up request sent to the upstream (our state in its Location), then a callback with that
  // state and a code the upstream never issued: the upstream's token endpoint says invalid_grant.
  const query = new URLSearchParams({ client_id: 'e2e', redirect_uri: 'urn:ietf:wg:oauth:2.0:oob',
    response_type: 'token', state: 'page-state', request_id: 'grant-1', origin: app.origin, scope: 'acme' });
  const started = await fetch(`${api.baseUrl}/v1/oauth?${query}`, { redirect: 'manual' });
  assert.equal(started.status, 302);
  const state = new URL(started.headers.get('location')).searchParams.get('state');
  const before = upstream.tokenRequests();
  const iss = encodeURIComponent(upstream.issuer);
  // The callback comes back in the browser that started the flow: with its binding cookie.
  const cookie = started.headers.get('set-cookie').split(';')[0];
  const reply = await fetch(`${api.baseUrl}/v1/oauth/callback/acme?state=${state}&code=never-issued&iss=${iss}`, { headers: { cookie } });
  assert.equal(reply.status, 200);
  const page = await reply.text();
  const embedded = JSON.parse(/id="kloudless-result">(.*?)<\/script>/s.exec(page)[1]);
  assert.equal(embedded.data.error, 'invalid_grant', page);
  assert.equal(embedded.data.state, 'page-state');
  assert.ok(embedded.data.error_description.length > 0);
  assert.equal(upstream.tokenRequests(), before + 1, 'the code was taken to the upstream once');
  assert.match(page, /The account could not be connected\./);
});
