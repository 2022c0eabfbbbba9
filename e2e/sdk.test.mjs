// The official Kloudless Python SDK (kloudless 2.0.1 from PyPI, unchanged: build/sdk-venv, made
// by scripts/sdk-venv.sh) pointed at this server, as a migrating app's backend would use it. Each
// test makes SDK calls through e2e/sdk/calls.py and asserts what they return: token
// verification, the account by bearer token and by API key, the account list across pages, and
// the pass-through API, with `raw_headers` reaching the upstream, and the server-side code flow
// (get_authorization_url, then get_token_from_code). The accounts are connected
// through the real pop-up in Chromium to a real OpenID provider (npm oidc-provider, see
// upstream.mjs); the pass-through API's upstream is a small HTTP server here that answers each
// call with what it received.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { root, startApp, startApi, launchBrowser, freePort } from './harness.mjs';
import { startOidc } from './upstream.mjs';
import { connectAs, signIn } from './connect.mjs';

const python = join(root, 'build/sdk-venv/bin/python');
const calls = join(root, 'e2e/sdk/calls.py');
const secret = 'sdk-client-secret-0123456789abcdef';
const key = 'e2e-app-api-key-0123456789abcdef';
const otherKey = 'sdk-other-api-key-0123456789abcdef';
let app, api, browser, upstream, files, redirectUri;
// The accounts connected before the tests (oldest first): `{ login, id, token, upstreamToken }`.
const accounts = [];

/**
 * An HTTP server on 127.0.0.1 standing for a service's file API: it answers every request with
 * 200 and JSON of what it received (`{ method, path, headers, body }`), and keeps them all
 * (`seen()`).
 */
async function startFileApi() {
  const seen = [];
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const received = { method: req.method, path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() };
    seen.push(received);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(received));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${server.address().port}`, seen: () => [...seen], stop: () => server.close() };
}

/**
 * The SDK call `call` (a function of e2e/sdk/calls.py) with `args`, against the server; resolves
 * to what calls.py prints: `{ result }`, or `{ error: { class, status, body } }` when the SDK
 * raised.
 */
async function sdk(call, args) {
  const running = promisify(execFile)(python, [calls], { timeout: 20000 });
  running.child.stdin.end(JSON.stringify({ base_url: api.baseUrl, call, args }));
  const { stdout } = await running;
  return JSON.parse(stdout);
}

/** The result of the SDK call `call` with `args`, which must not have raised. */
async function sdkResult(call, args) {
  const outcome = await sdk(call, args);
  assert.ok(!outcome.error, `${call} raised: ${JSON.stringify(outcome.error)}`);
  return outcome.result;
}

before(async () => {
  if (!existsSync(python)) throw new Error(`${python} is missing: run make sdk-venv`);
  app = await startApp();
  files = await startFileApi();
  const port = await freePort();
  upstream = await startOidc({
    clients: [{ client_id: 'broker', client_secret: secret, redirect_uri: `http://127.0.0.1:${port}/v1/oauth/callback/acme` }],
  });
  // Like Dropbox: the pass-through API goes to the file API (`api_base`), not to the identity provider.
  const config = `[[providers]]\nid = "acme"\nkind = "oidc"\nname = "Acme Files"\ncategory = "storage"\n`
    + `client_id = "broker"\nclient_secret = "${secret}"\nissuer = "${upstream.issuer}"\n`
    + `api_base = "${files.base}/2"\n`;
  const trusted_domains = [`localhost:${app.port}`];
  // Where the server-side code flow sends the browser back to: a page of the app's server.
  redirectUri = `http://localhost:${app.port}/kloudless/callback`;
  // `e2e`: the app of the app page (e2e/pages/app.html) the accounts are connected through.
  api = await startApi([
    { client_id: 'e2e', trusted_domains, api_key: key, redirect_uris: [redirectUri] },
    { client_id: 'other-app', trusted_domains, api_key: otherKey },
  ], {
    listen: `127.0.0.1:${port}`,
    // The upstreams are on 127.0.0.1: the tests allow private upstreams explicitly.
    prelude: `public_url = "http://127.0.0.1:${port}"\nallow_private_upstreams = true\nupstream_timeout_secs = 5\n`,
    config,
  });
  browser = await launchBrowser();
  for (const login of ['ann', 'ben', 'cat']) {
    const result = await connectAs({ browser, app, api }, 'acme', login, { exactlyOnce: false });
    assert.equal(result.account?.account, `${login}@upstream.test`, JSON.stringify(result));
    const upstreamToken = upstream.grants().filter((grant) => grant.account === login).at(-1).access_token;
    accounts.push({ login, id: result.account.id, token: result.access_token, upstreamToken });
  }
});

after(async () => {
  await browser?.close();
  await api?.stop();
  app?.stop();
  files?.stop();
  await upstream?.stop();
});

/** Asserts that `data` is the SDK's JSON for the connected account `account`. */
function isAccount(data, account) {
  assert.equal(data.id, account.id, JSON.stringify(data));
  assert.equal(data.account, `${account.login}@upstream.test`);
  assert.equal(data.service, 'acme');
  assert.equal(data.service_name, 'Acme Files');
  assert.equal(data.active, true);
}

test("verify_token accepts the pop-up's token for its own app only", async () => {
  const [ann] = accounts;
  const info = await sdkResult('verify_token', { app_id: 'e2e', token: ann.token });
  assert.equal(info.client_id, 'e2e');
  assert.equal(info.account_id, ann.id);
  const other = await sdk('verify_token', { app_id: 'other-app', token: ann.token });
  assert.equal(other.error?.class, 'TokenVerificationFailed', JSON.stringify(other));
  const unknown = await sdk('verify_token', { app_id: 'e2e', token: 'not-a-token' });
  assert.deepEqual([unknown.error?.class, unknown.error?.status], ['AuthorizationException', 401], JSON.stringify(unknown));
});

test("get_verified_account returns the token's account", async () => {
  const [, ben] = accounts;
  const verified = await sdkResult('get_verified_account', { app_id: 'e2e', token: ben.token });
  assert.equal(verified.account_id, 'me');
  isAccount(verified.data, ben);
  const other = await sdk('get_verified_account', { app_id: 'other-app', token: ben.token });
  assert.equal(other.error?.class, 'TokenVerificationFailed', JSON.stringify(other));
});

test("Account(token).get() and Account(api_key, id).get() read the account; another app's key gets 404", async () => {
  const [ann, ben] = accounts;
  isAccount((await sdkResult('get_account', { token: ann.token })).data, ann);
  isAccount((await sdkResult('get_account', { api_key: key, account_id: ben.id })).data, ben);
  const other = await sdk('get_account', { api_key: otherKey, account_id: ben.id });
  assert.deepEqual([other.error?.class, other.error?.status], ['NotFoundException', 404], JSON.stringify(other));
  assert.equal(other.error.body.error, 'not_found');
  // Kloudless's own error fields, alongside RFC 6749's.
  assert.deepEqual([other.error.body.error_code, other.error.body.status_code], ['not_found', 404]);
  assert.equal(other.error.body.message, other.error.body.error_description);
});

test("listing accounts: the app's key pages through all of them; a token sees its own", async () => {
  const listed = await sdkResult('list_accounts', { api_key: key, params: { page_size: 2 } });
  assert.equal(listed.first.type, 'object_list');
  assert.deepEqual([listed.first.page, listed.first.count, listed.first.next_page], [1, 2, 2]);
  assert.deepEqual(listed.first.objects.map((account) => account.id), accounts.slice(0, 2).map((account) => account.id));
  // The SDK's paging iterator asks for page 2, then stops at its `next_page: null`.
  assert.equal(listed.all.length, accounts.length);
  listed.all.forEach((data, i) => isAccount(data, accounts[i]));
  const [, , cat] = accounts;
  const own = await sdkResult('list_accounts', { token: cat.token });
  assert.deepEqual(own.all.map((account) => account.id), [cat.id]);
  assert.equal(own.first.type, 'object_list');
});

test("the pass-through API by bearer and by API key calls the account's service with its own upstream token", async () => {
  const [ann, ben] = accounts;
  const byToken = await sdkResult('raw', { token: ann.token, method: 'GET', uri: '/users/get_current_account?fields=name' });
  const byKey = await sdkResult('raw', { api_key: key, account_id: ben.id, method: 'DELETE', uri: '/files/old.txt' });
  for (const [reply, account, method, path] of [[byToken, ann, 'GET', '/2/users/get_current_account?fields=name'],
    [byKey, ben, 'DELETE', '/2/files/old.txt']]) {
    assert.equal(reply.status, 200);
    assert.match(reply.content_type, /^application\/json/);
    assert.deepEqual([reply.body.method, reply.body.path], [method, path]);
    assert.equal(reply.body.headers.authorization, `Bearer ${account.upstreamToken}`, 'the upstream token, not the SDK credentials');
  }
});

test("Account(token).raw(...) with raw_headers: the headers reach the upstream with the request's body", async () => {
  const [ann] = accounts;
  const arg = JSON.stringify({ path: '/Homework/math/Matrices.txt', mode: 'add' });
  const reply = await sdkResult('raw', {
    token: ann.token, method: 'POST', uri: '/files/upload', data: 'matrix contents',
    raw_headers: { 'Dropbox-API-Arg': arg, 'If-Match': '"rev-1"' },
  });
  assert.equal(reply.status, 200);
  const { headers, body, path } = reply.body;
  assert.equal(path, '/2/files/upload');
  assert.equal(headers['dropbox-api-arg'], arg);
  assert.equal(headers['if-match'], '"rev-1"');
  assert.equal(headers['content-type'], 'application/octet-stream');
  assert.equal(headers.authorization, `Bearer ${ann.upstreamToken}`);
  assert.equal(headers['x-kloudless-raw-headers'], undefined, 'the object itself stays at the server');
  assert.equal(body, 'matrix contents');
});

test('raw_headers that would take over the upstream request: a 400 through the SDK, nothing sent upstream', async () => {
  const [ann] = accounts;
  const sent = files.seen().length;
  for (const raw_headers of [{ Authorization: 'Bearer stolen' }, { 'Proxy-Authorization': 'Basic eDp5' },
    { 'X-Note': 'a\r\nHost: elsewhere.example' }]) {
    const refused = await sdk('raw', { token: ann.token, method: 'GET', uri: '/users/get_current_account', raw_headers });
    assert.deepEqual([refused.error?.class, refused.error?.status], ['APIException', 400], JSON.stringify(refused));
    assert.equal(refused.error.body.error, 'invalid_raw_headers');
  }
  assert.equal(files.seen().length, sent, 'nothing reached the upstream');
});

test('a code flow request refused by the server goes back to the redirect URI; get_token_from_code raises OauthFlowFailed', async () => {
  const start = await sdkResult('get_authorization_url', { app_id: 'e2e', redirect_uri: redirectUri, scope: 'no-such-service' });
  const reply = await fetch(start.url, { redirect: 'manual' });
  assert.equal(reply.status, 303);
  const back = new URL(reply.headers.get('location'));
  assert.equal(`${back.origin}${back.pathname}`, redirectUri);
  const params = Object.fromEntries(back.searchParams);
  assert.deepEqual([params.error, params.state, params.code], ['invalid_scope', start.state, undefined]);
  const exchange = { app_id: 'e2e', api_key: key, state: start.state, redirect_uri: redirectUri, params };
  const refused = await sdk('get_token_from_code', exchange);
  assert.equal(refused.error?.class, 'OauthFlowFailed', JSON.stringify(refused));
  assert.match(refused.error.message, /^invalid_scope: /);
});

// Last: it connects a fourth account, which the listing test above does not expect.
test('the code flow: get_authorization_url → the upstream in Chromium → the app\'s redirect URI → get_token_from_code', async () => {
  const start = await sdkResult('get_authorization_url', { app_id: 'e2e', redirect_uri: redirectUri, scope: 'acme' });
  assert.ok(start.url.startsWith(`${api.baseUrl}/v1/oauth?`), start.url);
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(start.url);
  await signIn(page, 'dan');
  await page.waitForURL((url) => url.href.startsWith(`${redirectUri}?`));
  const back = new URL(page.url());
  await context.close();
  assert.equal(back.origin, new URL(redirectUri).origin, "back on the app's origin");
  const params = Object.fromEntries(back.searchParams);
  assert.equal(params.state, start.state);
  assert.ok(params.code && !params.error, JSON.stringify(params));

  const exchange = { app_id: 'e2e', api_key: key, state: start.state, redirect_uri: redirectUri, params };
  const token = await sdkResult('get_token_from_code', exchange);
  const info = await sdkResult('verify_token', { app_id: 'e2e', token });
  const account = (await sdkResult('get_account', { token })).data;
  assert.equal(info.account_id, account.id);
  assert.equal(account.account, 'dan@upstream.test');
  assert.equal(account.service, 'acme');

  // The code is good once: a second exchange is refused and revokes the token the first gave.
  const again = await sdk('get_token_from_code', exchange);
  assert.deepEqual([again.error?.class, again.error?.status], ['APIException', 400], JSON.stringify(again));
  assert.equal(again.error.body.error, 'invalid_grant');
  const revoked = await sdk('verify_token', { app_id: 'e2e', token });
  assert.deepEqual([revoked.error?.class, revoked.error?.status], ['AuthorizationException', 401], JSON.stringify(revoked));
});

// After every test that reads the first three accounts: it disconnects one.
test("Account(api_key, id).delete() disconnects the account; another app's key gets 404", async () => {
  const [, ben] = accounts;
  const other = await sdk('delete_account', { api_key: otherKey, account_id: ben.id });
  assert.deepEqual([other.error?.class, other.error?.status], ['NotFoundException', 404], JSON.stringify(other));
  assert.deepEqual(await sdkResult('delete_account', { api_key: key, account_id: ben.id }), { status: 204 });
  const gone = await sdk('get_account', { api_key: key, account_id: ben.id });
  assert.deepEqual([gone.error?.class, gone.error?.status], ['NotFoundException', 404], JSON.stringify(gone));
  const revoked = await sdk('verify_token', { app_id: 'e2e', token: ben.token });
  assert.deepEqual([revoked.error?.class, revoked.error?.status], ['AuthorizationException', 401], JSON.stringify(revoked));
});
