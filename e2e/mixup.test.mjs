// IdP mix-up and code injection (issue 20, finding 2), played in headless Chromium against real
// upstreams: npm oidc-provider as the honest providers (PKCE required, `iss` in every
// authorization response, RFC 9207) and a per-server host the attacker runs (a small local HTTP
// server that records every request). The victim starts a per-server flow on the attacker's
// host, whose authorization endpoint sends them on to an honest provider's, with the broker's
// state and PKCE challenge; the victim signs in there. Before per-provider redirect URIs, the
// honest provider's code came back to the shared callback, which exchanged it at the attacker's
// token endpoint, with our client secret and the PKCE verifier. Now the code never reaches the
// attacker host, the state is refused (and used up) on the honest provider's callback, and
// within one per-server provider (one redirect URI for all its servers) the `iss` of another
// server is refused. Also: an `iss` naming another issuer is refused, a missing `iss` is refused
// where the provider advertises it, and passes where it does not.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { startApp, startApi, launchBrowser, freePort, clickForPopup, onlyResult, results, sleep, openApp as openAppAt } from './harness.mjs';
import { startOidc } from './upstream.mjs';
import { signIn } from './connect.mjs';

const secret = 'e2e-client-secret-0123456789abcdef';
let app, api, browser, honest, plain, serverB, attacker;

/**
 * The attacker's per-server host: every request recorded (`requests()`: `{ method, path, query,
 * body, authorization }`); `/auth` sends the browser on to `lure(query)` (set by each test), any
 * other path answers `invalid_grant`.
 */
async function startAttacker() {
  const seen = [];
  const host = createServer((req, res) => {
    const url = new URL(req.url, 'http://attacker');
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      seen.push({ method: req.method, path: url.pathname, query: url.search, body, authorization: req.headers.authorization });
      if (url.pathname === '/auth') return res.writeHead(302, { location: host.lure(url.searchParams) }).end();
      return res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_grant"}');
    });
  });
  await new Promise((resolve) => host.listen(0, '127.0.0.1', resolve));
  host.hostname = `127.0.0.1:${host.address().port}`;
  host.requests = () => seen.map((request) => ({ ...request }));
  return host;
}

before(async () => {
  app = await startApp();
  const port = await freePort();
  const callback = (id) => `http://127.0.0.1:${port}/v1/oauth/callback${id ? `/${id}` : ''}`;
  // Each provider's own redirect URI, and the old shared one still registered (an operator in
  // the middle of the upgrade): the attacker may use either.
  const client = (id) => ({ client_id: 'broker', client_secret: secret, redirect_uris: [callback(), callback(id)] });
  honest = await startOidc({ clients: [client('acme')] });
  plain = await startOidc({ clients: [client('plain')], advertiseIss: false });
  // An honest server of the per-server provider whose other server the attacker runs.
  serverB = await startOidc({ clients: [client('acme_server')] });
  attacker = await startAttacker();
  const provider = (id, lines) => `[[providers]]\nid = "${id}"\nname = "${id}"\ncategory = "storage"\n`
    + `client_id = "broker"\nclient_secret = "${secret}"\n${lines}\n`;
  const config = provider('acme', `kind = "oidc"\nissuer = "${honest.issuer}"`)
    + provider('plain', `kind = "oidc"\nissuer = "${plain.issuer}"`)
    + provider('acme_server', 'kind = "oauth2"\nhostname_pattern = "127.0.0.1:*"\n'
      + 'authorization_url = "http://{hostname}/auth"\ntoken_url = "http://{hostname}/token"\n'
      + 'identity_url = "http://{hostname}/me"\nissuer = "http://{hostname}"');
  api = await startApi([{ client_id: 'e2e', trusted_domains: [`localhost:${app.port}`] }], {
    listen: `127.0.0.1:${port}`,
    // The upstreams are on 127.0.0.1: the tests allow private upstreams explicitly.
    prelude: `public_url = "http://127.0.0.1:${port}"\nallow_private_upstreams = true\nupstream_timeout_secs = 5\n`,
    config,
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await api?.stop();
  app?.stop();
  await honest?.stop();
  await plain?.stop();
  await serverB?.stop();
  attacker?.close();
});

/** The app page asking for `scope`, in a fresh context. */
const openApp = (scope) => openAppAt(browser, app, api, scope);

/**
 * The attack: the victim starts an `acme_server` flow on the attacker's host, which sends them to
 * `target`'s authorization endpoint with the broker's state and PKCE challenge and `redirectUri`;
 * the victim signs in there. Resolves to `{ page, popup, context, response, state, before }`
 * (`response`: our callback's, `before`: the token requests made so far at `target`).
 */
async function lureVictim(target, redirectUri) {
  attacker.lure = (query) => `${target.issuer}/auth?${new URLSearchParams({
    client_id: 'broker', response_type: 'code', scope: 'openid email profile', state: query.get('state'),
    redirect_uri: redirectUri, code_challenge: query.get('code_challenge'), code_challenge_method: 'S256',
  })}`;
  const before = target.tokenRequests();
  const { context, page } = await openApp('acme_server');
  const popup = await clickForPopup(page);
  await popup.fill('input[name="hostname"]', attacker.hostname);
  await popup.click('[data-action="continue"]');
  const response = popup.waitForResponse((reply) => reply.url().includes('/v1/oauth/callback'));
  await signIn(popup, 'victim');
  const lured = attacker.requests().filter((request) => request.path === '/auth').at(-1);
  const state = new URLSearchParams(lured.query).get('state');
  return { context, page, popup, response: await response, state, before };
}

/** Nothing but the lure reached the attacker host: no code, no client secret, no PKCE verifier. */
function attackerGotNothing() {
  const requests = attacker.requests();
  assert.deepEqual(requests.filter((request) => request.path !== '/auth'), [], 'no token or identity request');
  assert.ok(!JSON.stringify(requests).includes(secret), 'no client secret');
}

for (const [name, path] of [['the shared path of before', ''], ["the honest provider's own path", '/acme']]) {
  test(`mix-up: the honest provider's code sent back to ${name} never reaches the attacker's host`, async () => {
    const redirectUri = `${api.baseUrl}/v1/oauth/callback${path}`;
    const { context, page, popup, response, state, before } = await lureVictim(honest, redirectUri);
    attackerGotNothing();
    assert.equal(response.status(), 400);
    assert.match(await popup.textContent('body'), /came back from another service/);
    assert.equal(honest.tokenRequests(), before, 'nothing exchanged at the honest provider either');
    // The state is used up: not even its own provider's path takes it now.
    const again = await fetch(`${api.baseUrl}/v1/oauth/callback/acme_server?state=${state}&code=x`
      + `&iss=${encodeURIComponent(`http://${attacker.hostname}`)}`);
    assert.equal(again.status, 400);
    assert.match(await again.text(), /unknown, expired or already finished/);
    await sleep(500);
    assert.deepEqual(await page.evaluate(() => window.results), [], 'nothing was sent to the app');
    await context.close();
  });
}

test("mix-up within one per-server provider: another server's iss is refused, nothing exchanged", async () => {
  // Every server of a per-server provider shares its redirect URI: only `iss` tells them apart.
  const redirectUri = `${api.baseUrl}/v1/oauth/callback/acme_server`;
  const { context, page, before } = await lureVictim(serverB, redirectUri);
  const [result] = await results(page);
  assert.equal(result.error, 'invalid_request', JSON.stringify(result));
  assert.match(result.error_description, /another service/);
  assert.equal(result.access_token, undefined);
  attackerGotNothing();
  assert.equal(serverB.tokenRequests(), before);
  await context.close();
});

test("a per-server provider's own server, whose iss is its issuer, connects", async () => {
  const { context, page } = await openApp('acme_server');
  const popup = await clickForPopup(page);
  await popup.fill('input[name="hostname"]', new URL(serverB.issuer).host);
  await popup.click('[data-action="continue"]');
  await signIn(popup, 'bea');
  const result = await onlyResult(page);
  assert.equal(result.account?.account, 'bea@upstream.test', JSON.stringify(result));
  await context.close();
});

/**
 * Connects `login` through `upstream`'s real sign-in (the provider `scope` names), its
 * authorization response's `iss` replaced by `iss` (`null`: left out); resolves to the page's
 * only result and the token requests the upstream got meanwhile.
 */
async function connectWithIss(upstream, scope, login, iss) {
  const before = upstream.tokenRequests();
  upstream.set({ iss });
  try {
    const { context, page } = await openApp(scope);
    const popup = await clickForPopup(page);
    await signIn(popup, login);
    const result = await onlyResult(page);
    await context.close();
    return { result, exchanged: upstream.tokenRequests() - before };
  } finally {
    upstream.set({ iss: undefined });
  }
}

test('an iss that names another issuer is refused, nothing exchanged', async () => {
  const { result, exchanged } = await connectWithIss(honest, 'acme', 'mallory', serverB.issuer);
  assert.equal(result.error, 'invalid_request', JSON.stringify(result));
  assert.match(result.error_description, /another service/);
  assert.equal(result.access_token, undefined);
  assert.equal(exchanged, 0);
});

test('an iss missing where the provider advertises it is refused, nothing exchanged', async () => {
  const { result, exchanged } = await connectWithIss(honest, 'acme', 'mallory', null);
  assert.equal(result.error, 'invalid_request', JSON.stringify(result));
  assert.match(result.error_description, /no iss/);
  assert.equal(exchanged, 0);
});

test('an iss missing where the provider does not advertise it passes', async () => {
  const { result, exchanged } = await connectWithIss(plain, 'plain', 'pam', null);
  assert.equal(result.account?.account, 'pam@upstream.test', JSON.stringify(result));
  assert.equal(exchanged, 1);
});
