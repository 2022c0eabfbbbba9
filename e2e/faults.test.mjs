// The fault matrix: the server (with --test-faults) makes the token or the account endpoint
// fail in each way a real one can; every flow must end in exactly one callback with the right
// error code, and no error result may carry the token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { environment, results, sleep, clickForPopup, connect } from './harness.mjs';

const REQUEST_TIMEOUT_MS = 1000;
const cases = [
  ['token', 'status_500', 'token_verification_failed'],
  ['token', 'status_401', 'token_verification_failed'],
  ['token', 'malformed_json', 'token_verification_failed'],
  ['token', 'slow', 'timeout'],
  ['token', 'drop', 'network_error'],
  ['token', 'other_client_id', 'client_id_mismatch'],
  ['account', 'status_500', 'account_retrieval_failed'],
  ['account', 'status_401', 'account_retrieval_failed'],
  ['account', 'malformed_json', 'account_retrieval_failed'],
  ['account', 'slow', 'timeout'],
  ['account', 'drop', 'network_error'],
];

const env = environment({
  apps: (app) => [
    { client_id: 'e2e', trusted_domains: [`localhost:${app.port}`] },
    ...cases.map(([endpoint, kind]) => ({
      client_id: `${endpoint}-${kind}`,
      trusted_domains: [`localhost:${app.port}`],
      fault: { endpoint, kind, slow_ms: kind === 'slow' ? 4 * REQUEST_TIMEOUT_MS : undefined },
    })),
  ],
});

for (const [endpoint, kind, code] of cases) {
  test(`${endpoint} endpoint ${kind}: one ${code} callback, no token`, async () => {
    const context = await env.browser.newContext();
    const page = await context.newPage();
    const query = { api: env.api.baseUrl, client_id: `${endpoint}-${kind}`, scope: 'box', requestTimeout: REQUEST_TIMEOUT_MS };
    await page.goto(`${env.app.origin}/app.html?${new URLSearchParams(query)}`);
    const popup = await clickForPopup(page);
    await connect(popup, 'box', `${kind}@example.com`);
    const [result] = await results(page);
    assert.equal(result.error, code, JSON.stringify(result));
    assert.equal(result.access_token, undefined, 'no token in an error result');
    assert.ok(!JSON.stringify(result).includes('Bearer'), 'nothing token-like');
    assert.match(result.state, /^[0-9a-f]{32}$/);
    // Past the slow reply and the pop-up grace period: still one callback.
    await sleep(kind === 'slow' ? 4 * REQUEST_TIMEOUT_MS : 2000);
    assert.equal((await page.evaluate(() => window.results)).length, 1, 'exactly one callback');
    await context.close();
  });
}
