// Connected accounts kept working, against a real OpenID provider (npm oidc-provider, see
// upstream.mjs) connected through the real pop-up in Chromium: the pass-through API
// (`/v1/accounts/{id}/raw`, here the provider's userinfo endpoint `/me`) refreshes an expired
// upstream access token exactly once, also for 20 concurrent calls while the provider rotates
// refresh tokens; a grant revoked upstream makes the account inactive with no refresh loop; a
// refresh reply without `refresh_token` keeps the old one; a 401 upstream means one refresh and
// one retry; deleting an account revokes its grant at the provider; and the account API's
// scoping (an account's own bearer token, the app's API key, another app's key).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, startApi, launchBrowser, freePort, sleep } from './harness.mjs';
import { startOidc } from './upstream.mjs';
import { connectAs } from './connect.mjs';

const secret = 'e2e-client-secret-0123456789abcdef';
const key = 'e2e-app-api-key-0123456789abcdef';
const otherKey = 'other-app-api-key-0123456789abcdef';
// The server refreshes an access token due to expire within its margin (server/src/accounts/refresh.rs,
// MARGIN = 300 s): a lifetime under 300 s would make every token due at once. A lifetime of
// 304 s makes a new token fresh for its first 3 to 4 seconds (the server keeps expiry in whole
// seconds), then due: `untilDue` waits that out. The token still works at the provider: what
// is tested is the server's decision and the refresh it makes.
const ttl = 304;
const untilDue = () => sleep((ttl - 300) * 1000 + 100);
let app, api, browser, upstream;

before(async () => {
  app = await startApp();
  const port = await freePort();
  const redirect_uri = `http://127.0.0.1:${port}/v1/oauth/callback/acme`;
  upstream = await startOidc({
    clients: [{ client_id: 'broker', client_secret: secret, redirect_uri }],
    accessTokenTtl: ttl,
    rotateRefreshToken: true,
  });
  // offline_access with prompt=consent: oidc-provider issues a refresh token only then.
  const config = `[[providers]]\nid = "acme"\nkind = "oidc"\nname = "Acme ID"\ncategory = "storage"\n`
    + `client_id = "broker"\nclient_secret = "${secret}"\nissuer = "${upstream.issuer}"\n`
    + `api_base = "${upstream.issuer}"\nscopes = ["openid", "email", "profile", "offline_access"]\n`
    + 'authorization_params = { prompt = "consent" }\n';
  const trusted_domains = [`localhost:${app.port}`];
  api = await startApi([
    { client_id: 'e2e', trusted_domains, api_key: key },
    { client_id: 'other', trusted_domains, api_key: otherKey },
  ], {
    listen: `127.0.0.1:${port}`,
    // The upstream is on 127.0.0.1: the tests allow private upstreams explicitly.
    prelude: `public_url = "http://127.0.0.1:${port}"\nallow_private_upstreams = true\nupstream_timeout_secs = 5\n`,
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

/** Connects `login` through the pop-up; returns its account id and bearer token. */
async function connected(login) {
  const result = await connectAs({ browser, app, api }, 'acme', login, { exactlyOnce: false });
  assert.equal(result.account?.account, `${login}@upstream.test`, JSON.stringify(result));
  return { id: result.account.id, token: result.access_token };
}

/** The provider's current refresh token for `login` (the last one it issued). */
function refreshTokenOf(login) {
  const issued = upstream.grants().filter((grant) => grant.account === login && grant.refresh_token);
  assert.ok(issued.length > 0, `the provider issued ${login} a refresh token`);
  return issued.at(-1).refresh_token;
}

/** A pass-through call to the provider's userinfo endpoint for account `id`. */
function userinfo(id, authorization = `APIKey ${key}`) {
  return fetch(`${api.baseUrl}/v1/accounts/${id}/raw`, {
    headers: { authorization, 'x-kloudless-raw-uri': '/me', 'x-kloudless-raw-method': 'GET' },
  });
}

/** Asserts that `reply` is the provider's userinfo for `login`. */
async function isUserinfoOf(reply, login) {
  const text = await reply.text();
  assert.equal(reply.status, 200, text);
  assert.equal(JSON.parse(text).sub, login);
}

test('a raw call while the token is fresh uses it; after expiry it succeeds with exactly one upstream refresh', async () => {
  const { id } = await connected('rita');
  const refreshes = upstream.refreshes();
  // (A slow machine could make this call late: then say so rather than fail on the count.)
  assert.ok(Date.now() - upstream.grants().at(-1).at < (ttl - 300 - 1) * 1000, 'called within the fresh window');
  await isUserinfoOf(await userinfo(id), 'rita');
  assert.equal(upstream.refreshes(), refreshes, 'no refresh while the token is fresh');
  await untilDue();
  await isUserinfoOf(await userinfo(id), 'rita');
  assert.equal(upstream.refreshes(), refreshes + 1, 'one refresh once due');
  const last = upstream.grants().at(-1);
  assert.equal(last.status, 200, 'the provider answered the refresh');
  await isUserinfoOf(await userinfo(id), 'rita');
  assert.equal(upstream.refreshes(), refreshes + 1, 'the refreshed token is fresh: no second refresh');
});

test('20 concurrent raw calls after expiry: exactly one upstream refresh, all succeed', async () => {
  // The provider rotates refresh tokens: a second, racing refresh would present the consumed
  // one, which oidc-provider takes as a stolen token and answers by revoking the whole grant —
  // the calls waiting on it would fail and the account would go inactive.
  const { id } = await connected('sam');
  await untilDue();
  const [refreshes, calls] = [upstream.refreshes(), upstream.userinfoCalls()];
  const replies = await Promise.all(Array.from({ length: 20 }, () => userinfo(id)));
  for (const reply of replies) await isUserinfoOf(reply, 'sam');
  assert.equal(upstream.refreshes(), refreshes + 1, 'one refresh for 20 callers');
  assert.equal(upstream.userinfoCalls(), calls + 20, 'no call was retried');
  // The rotated refresh token was saved: the next expiry refreshes with it, successfully.
  await untilDue();
  await isUserinfoOf(await userinfo(id), 'sam');
  assert.equal(upstream.refreshes(), refreshes + 2);
  assert.deepEqual(upstream.grants().slice(-2).map((grant) => grant.status), [200, 200]);
});

test('a grant revoked upstream: a clear 401, the account inactive with the reason, no refresh loop', async () => {
  const { id } = await connected('tina');
  const revoked = await fetch(`${upstream.issuer}/token/revocation`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: refreshTokenOf('tina'), token_type_hint: 'refresh_token',
      client_id: 'broker', client_secret: secret }),
  });
  assert.equal(revoked.status, 200);
  await untilDue();
  const refreshes = upstream.refreshes();
  const reply = await userinfo(id);
  assert.equal(reply.status, 401);
  assert.match(reply.headers.get('content-type'), /application\/json/);
  const body = await reply.json();
  assert.equal(body.error, 'account_inactive', JSON.stringify(body));
  assert.match(body.error_description, /invalid_grant.*connect it again/);
  assert.equal(upstream.refreshes(), refreshes + 1, 'the refresh was tried once');
  const account = await (await fetch(`${api.baseUrl}/v1/accounts/${id}/`, { headers: { authorization: `APIKey ${key}` } })).json();
  assert.equal(account.active, false, JSON.stringify(account));
  assert.match(account.inactive_reason, /^invalid_grant/);
  for (let i = 0; i < 3; i += 1) assert.equal((await userinfo(id)).status, 401);
  assert.equal(upstream.refreshes(), refreshes + 1, 'no further refresh attempts');
});

test('a refresh reply without refresh_token keeps the old one: two successive refreshes succeed', async () => {
  // Rotation off for this case, so the refresh token kept is still valid at the provider.
  upstream.set({ rotateRefreshToken: false, omitRefreshToken: true });
  try {
    const { id } = await connected('uma');
    const refreshes = upstream.refreshes();
    for (const round of [1, 2]) {
      await untilDue();
      await isUserinfoOf(await userinfo(id), 'uma');
      assert.equal(upstream.refreshes(), refreshes + round);
      assert.equal(upstream.grants().at(-1).status, 200, `refresh ${round} answered`);
    }
  } finally {
    upstream.set({ rotateRefreshToken: true, omitRefreshToken: false });
  }
});

test('a 401 from upstream: exactly one refresh and one retry, and the call succeeds', async () => {
  const { id } = await connected('vic');
  const access = upstream.grants().filter((grant) => grant.account === 'vic').at(-1).access_token;
  // The token is fresh by its expiry, but the provider no longer knows it.
  await upstream.dropAccessToken(access);
  const [refreshes, calls] = [upstream.refreshes(), upstream.userinfoCalls()];
  await isUserinfoOf(await userinfo(id), 'vic');
  assert.equal(upstream.refreshes(), refreshes + 1, 'one refresh');
  assert.equal(upstream.userinfoCalls(), calls + 2, 'the call and one retry');
});

test('DELETE with the API key revokes the grant at the provider and removes the account', async () => {
  const { id } = await connected('walt');
  const refreshToken = refreshTokenOf('walt');
  const revocations = upstream.revocations().length;
  const deleted = await fetch(`${api.baseUrl}/v1/accounts/${id}/`, { method: 'DELETE', headers: { authorization: `APIKey ${key}` } });
  assert.equal(deleted.status, 204);
  assert.deepEqual(upstream.revocations().slice(revocations), [{ token: refreshToken, token_type_hint: 'refresh_token' }]);
  const grant = await fetch(`${upstream.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'broker', client_secret: secret }),
  });
  assert.equal(grant.status, 400);
  assert.equal((await grant.json()).error, 'invalid_grant', 'the refresh token no longer works upstream');
  const listed = await (await fetch(`${api.baseUrl}/v1/accounts/?page_size=1000`, { headers: { authorization: `APIKey ${key}` } })).json();
  assert.ok(listed.objects.length > 0, 'the other accounts are listed');
  assert.ok(!listed.objects.some((account) => account.id === id), 'the account is gone');
  assert.equal((await userinfo(id)).status, 404);
});

test("an account's own bearer token reads only its account; another app's API key gets 404", async () => {
  const mine = await connected('xena');
  const theirs = await connected('yuri');
  const bearer = `Bearer ${mine.token}`;
  const listed = await (await fetch(`${api.baseUrl}/v1/accounts/`, { headers: { authorization: bearer } })).json();
  assert.deepEqual(listed.objects.map((account) => account.id), [mine.id]);
  assert.equal(listed.total, 1);
  const own = await fetch(`${api.baseUrl}/v1/accounts/${mine.id}/`, { headers: { authorization: bearer } });
  assert.equal(own.status, 200);
  assert.equal((await own.json()).account, 'xena@upstream.test');
  assert.equal((await fetch(`${api.baseUrl}/v1/accounts/${theirs.id}/`, { headers: { authorization: bearer } })).status, 403);
  await isUserinfoOf(await userinfo(mine.id, bearer), 'xena');
  assert.equal((await userinfo(theirs.id, bearer)).status, 403);
  // The app's own key sees both; the other app's key sees neither, nor can it delete one.
  const other = `APIKey ${otherKey}`;
  for (const { id } of [mine, theirs]) {
    assert.equal((await fetch(`${api.baseUrl}/v1/accounts/${id}/`, { headers: { authorization: `APIKey ${key}` } })).status, 200);
    const got = await fetch(`${api.baseUrl}/v1/accounts/${id}/`, { headers: { authorization: other } });
    assert.equal(got.status, 404);
    assert.equal((await got.json()).error, 'not_found');
    assert.equal((await userinfo(id, other)).status, 404);
    assert.equal((await fetch(`${api.baseUrl}/v1/accounts/${id}/`, { method: 'DELETE', headers: { authorization: other } })).status, 404);
  }
  const otherList = await (await fetch(`${api.baseUrl}/v1/accounts/`, { headers: { authorization: other } })).json();
  assert.equal(otherList.total, 0);
  await isUserinfoOf(await userinfo(mine.id, bearer), 'xena');
});
