// Organisation-wide accounts (issue 25) in headless Chromium through the library: the tenant's
// admin opens the pop-up, sees our client id and the scopes to authorize, types the domain and
// their address, presses Check; the server proves the delegation by minting the admin's token
// at a local token endpoint that verifies the RFC 7523 assertion with the key's public half
// (npm jose: signature, iss, sub, aud, scope, exp); the page gets an admin account for the
// domain, and the app then acts as a user of the domain through the raw API. The endpoint is a
// custom `kind = "service_account"` provider, the Google Workspace entry's shape at a local URL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jwtVerify } from 'jose';
import { startApp, startApi, launchBrowser, clickForPopup, onlyResult, openApp as openAppAt } from './harness.mjs';

const apiKey = 'e2e-org-api-key-0123456789abcdef';
const clientEmail = 'sync@our-project.iam.gserviceaccount.test';
const clientId = '109876543210987654321';
const scope = 'https://www.googleapis.com/auth/drive';
const users = new Set(['root@acme.test', 'ann@acme.test']);
const minted = [];
let app, api, browser, google, tokenUrl;

before(async () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  google = createServer(async (req, res) => {
    const reply = (status, body) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.method !== 'POST' || req.url !== '/token') {
      return reply(200, { called_with: (req.headers.authorization ?? '').replace('Bearer ', '') });
    }
    let body = '';
    for await (const chunk of req) body += chunk;
    const form = new URLSearchParams(body);
    try {
      const { payload } = await jwtVerify(form.get('assertion'), publicKey,
        { issuer: clientEmail, audience: tokenUrl, algorithms: ['RS256'], requiredClaims: ['iat', 'exp', 'sub'] });
      assert.equal(form.get('grant_type'), 'urn:ietf:params:oauth:grant-type:jwt-bearer');
      assert.equal(payload.scope, scope);
      assert.ok(payload.exp - payload.iat <= 3600);
      minted.push(payload.sub);
      if (!users.has(payload.sub)) return reply(400, { error: 'invalid_grant', error_description: 'Invalid email or User ID' });
      return reply(200, { access_token: `at-${payload.sub}`, expires_in: 3599, token_type: 'Bearer' });
    } catch (error) {
      return reply(400, { error: 'invalid_grant', error_description: `Invalid JWT: ${error.message}` });
    }
  });
  await new Promise((resolve) => google.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${google.address().port}`;
  tokenUrl = `${base}/token`;
  const dir = mkdtempSync(join(tmpdir(), 'kloudless-org-'));
  const keyFile = join(dir, 'service-account.json');
  writeFileSync(keyFile, JSON.stringify({
    type: 'service_account', client_email: clientEmail, client_id: clientId, private_key_id: 'k1',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
  }));
  app = await startApp();
  api = await startApi([{ client_id: 'e2e', trusted_domains: [`localhost:${app.port}`], api_key: apiKey }], {
    prelude: 'allow_private_upstreams = true\n',
    config: '[[providers]]\nid = "workspace"\nkind = "service_account"\nname = "Workspace"\ncategory = "storage"\n'
      + `token_url = "${tokenUrl}"\napi_base = "${base}"\nscopes = ["${scope}"]\nkey_file = "${keyFile}"\n`,
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  api?.stop();
  app?.stop();
  google?.close();
});

test('the admin connects the domain in the pop-up; the app then acts as a user of it', async () => {
  const { context, page } = await openAppAt(browser, app, api, 'workspace');
  const popup = await clickForPopup(page);
  assert.equal(await popup.textContent('[data-field="client-id"]'), clientId);
  assert.equal(await popup.textContent('[data-field="scopes"]'), scope);
  // An address outside the domain: the form again, with the reason, nothing minted.
  await popup.fill('#domain', 'acme.test');
  await popup.fill('#admin_email', 'root@evil.test');
  await popup.click('[data-action="connect"]');
  await popup.waitForSelector('#admin-error');
  assert.match(await popup.textContent('#admin-error'), /administrator address at acme\.test/);
  assert.equal(minted.length, 0);
  // A refused assertion: the provider's code on the page.
  await popup.fill('#admin_email', 'nobody@acme.test');
  await popup.click('[data-action="connect"]');
  await popup.waitForSelector('#form-error');
  assert.match(await popup.textContent('#form-error'), /invalid_grant/);
  // The admin.
  await popup.fill('#admin_email', 'root@acme.test');
  await popup.click('[data-action="connect"]');
  const result = await onlyResult(page);
  assert.equal(result.token_type, 'Bearer', JSON.stringify(result));
  assert.equal(result.scope, 'workspace:admin.storage');
  assert.equal(result.account.account, 'acme.test');
  assert.equal(result.account.admin, true);
  await context.close();

  const raw = (user) => fetch(`${api.baseUrl}/v1/accounts/${result.account.id}/raw`, {
    headers: { authorization: `APIKey ${apiKey}`, 'x-kloudless-raw-uri': '/drive/v3/about', 'x-kloudless-as-user': user },
  });
  const ann = await raw('ann@acme.test');
  assert.equal(ann.status, 200);
  assert.equal((await ann.json()).called_with, 'at-ann@acme.test');
  assert.equal((await raw('eve@evil.test')).status, 403);
});
