// Single-use sign-in tokens through the library in Chromium: an app that requires them, a
// token minted by the test with the app's API key, passed as the `sign_in_token` option; the
// flow completes and the account names the end user. Without a token, or with one already
// used, the callback gets `invalid_sign_in_token` (and the library closes the pop-up); a value
// that is not a token throws at the call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { environment, clickForPopup, connect, onlyResult } from './harness.mjs';

const API_KEY = 'e2e-sign-in-api-key-0123456789';
const env = environment({
  apps: (app) => [{ client_id: 'e2e', trusted_domains: [`localhost:${app.port}`], api_key: API_KEY,
    require_sign_in_token: true }],
});

/** A sign-in token of the app for `user_id`, minted as its backend would. */
async function mint(user_id) {
  const reply = await fetch(`${env.api.baseUrl}/v1/sign_in_tokens`, {
    method: 'POST',
    headers: { authorization: `APIKey ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user_id }),
  });
  assert.equal(reply.status, 201);
  const minted = await reply.json();
  assert.equal(minted.expires_in, 300);
  return minted.token;
}

async function openApp(signInToken) {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const query = { api: env.api.baseUrl, scope: 'box', ...(signInToken === undefined ? {} : { sign_in_token: signInToken }) };
  await page.goto(`${env.app.origin}/app.html?${new URLSearchParams(query)}`);
  return { context, page, errors };
}

/** Opens the pop-up without a usable token: it must end at once in the callback's error. */
async function assertRefused(signInToken) {
  const { context, page } = await openApp(signInToken);
  const popup = await clickForPopup(page);
  const result = await onlyResult(page);
  assert.equal(result.error, 'invalid_sign_in_token');
  assert.match(result.error_description, /sign-in token/);
  assert.equal(result.access_token, undefined);
  assert.ok(popup.isClosed(), 'the library closes the pop-up');
  await context.close();
}

test('with a token minted by the backend the flow completes and the account names the user', async () => {
  const token = await mint('user-42');
  const { context, page } = await openApp(token);
  const popup = await clickForPopup(page);
  await connect(popup, 'box', 'ann@example.com');
  const result = await onlyResult(page);
  assert.equal(result.error, undefined, JSON.stringify(result));
  assert.equal(result.account.account, 'ann@example.com');
  assert.equal(result.account.user_id, 'user-42');
  await context.close();

  // The token's flow has its result: another pop-up with it is refused.
  await assertRefused(token);
});

test('an app that requires a token refuses a pop-up without one', async () => {
  await assertRefused(undefined);
});

test('a value that is not a token throws at the call', async () => {
  const { context, errors } = await openApp('not a token');
  assert.match(errors.join('\n'), /'sign_in_token' must be a token from POST \/v1\/sign_in_tokens/);
  await context.close();
});
