// Chromium connects catalogue entries through the quirk simulator (issue 23): a representative
// few, each re-hosted (`--rehost`) on the `quirk-simulator` binary running the entry's own
// profile from server/providers.toml. GitHub answers its token request form-encoded unless JSON
// is asked for; Slack nests the user's token in `authed_user` and takes comma-separated
// `user_scope`; ServiceNow is per server (the hostname typed in the pop-up); Zoho CRM names the
// user's data centre in its answer (`accounts-server`) and its API server in the token reply
// (`api_domain`); SugarCRM is per server and trades the user name and password typed in the
// pop-up for tokens (the password grant, a JSON body, the token in an `OAuth-Token` header); Jira
// takes JSON token requests and its API is under the site's cloud id, looked up once connected.
// Each: the real pop-up, through the real server, to the library's callback, with
// the account the simulator's user; then a raw API call through the account reaches the
// simulator.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { root, startApp, startApi, launchBrowser, freePort, clickForPopup, onlyResult, openApp as openAppAt } from './harness.mjs';

const simulatorBinary = join(root, 'target/debug/quirk-simulator');
const apiKey = 'e2e-quirks-api-key-0123456789abcdef';
/** The entries driven, with the account's login each profile's user has. */
const entries = { github: 'octocat', slack: 'ann', servicenow: 'ann', zoho: 'ann@example.test', sugarcrm: 'ann',
  jira: 'ann@example.test' };
let app, api, browser;
const simulators = {};

/** The quirk-simulator binary serving the catalogue entry `id`'s profile: `{ base, counts, stop }`. */
async function startSimulator(id) {
  const child = spawn(simulatorBinary, ['--entry', id, join(root, 'server/providers.toml')],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  const base = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /^listening on (http:\/\/\S+)/.exec(line);
      if (match) resolve(match[1]);
    });
    child.on('exit', (code) => reject(new Error(`quirk-simulator ${id} exited ${code}: run make server`)));
  });
  const counts = async () => (await fetch(`${base}/_sim/counts`)).json();
  return { base, counts, stop: () => child.kill() };
}

before(async () => {
  app = await startApp();
  for (const id of Object.keys(entries)) simulators[id] = await startSimulator(id);
  const config = Object.keys(entries).map((id) => `[[providers]]\nid = "${id}"\n`
    + 'client_id = "conformance-client"\nclient_secret = "conformance-secret"\n').join('');
  const port = await freePort();
  api = await startApi([{ client_id: 'e2e', trusted_domains: [`localhost:${app.port}`], api_key: apiKey }], {
    listen: `127.0.0.1:${port}`,
    prelude: `public_url = "http://127.0.0.1:${port}"\nallow_private_upstreams = true\n`,
    config,
    args: Object.entries(simulators).flatMap(([id, sim]) => ['--rehost', `${id}=${sim.base}`]),
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  api?.stop();
  app?.stop();
  for (const sim of Object.values(simulators)) sim.stop();
});

/** A raw GET through the account `id` of the app's API key: the status. */
async function rawCall(id) {
  const reply = await fetch(`${api.baseUrl}/v1/accounts/${id}/raw`, {
    method: 'POST',
    headers: { authorization: `APIKey ${apiKey}`, 'x-kloudless-raw-uri': '/quirks', 'x-kloudless-raw-method': 'GET' },
  });
  return reply.status;
}

for (const [id, login] of Object.entries(entries)) {
  test(`${id} connects in Chromium through its quirks, and its account reaches the API`, async () => {
    const sim = simulators[id];
    const { context, page } = await openAppAt(browser, app, api, id);
    const popup = await clickForPopup(page);
    if (id === 'servicenow') {
      await popup.fill('input[name="hostname"]', new URL(sim.base).host);
      await popup.click('[data-action="continue"]');
    }
    if (id === 'sugarcrm') {
      // The simulator's user (simulator/src/lib.rs: USERNAME, PASSWORD).
      await popup.fill('input[name="hostname"]', new URL(sim.base).host);
      await popup.fill('input[name="username"]', 'ann');
      await popup.fill('input[name="password"]', 'correct horse battery staple');
      await popup.click('[data-action="connect"]');
    }
    const result = await onlyResult(page);
    assert.equal(result.token_type, 'Bearer', JSON.stringify(result));
    assert.equal(result.account?.service, id, JSON.stringify(result));
    assert.equal(result.account.account, login);
    const seen = await sim.counts();
    const granted = id === 'sugarcrm' ? [0, 0, 1] : [1, 1, 0];
    assert.deepEqual([seen.authorizations, seen.code_grants, seen.password_grants, seen.bad_client_auth], [...granted, 0]);
    assert.equal(await rawCall(result.account.id), 200);
    assert.equal((await sim.counts()).api_calls, 1, 'the call reached the simulator');
    await context.close();
  });
}
