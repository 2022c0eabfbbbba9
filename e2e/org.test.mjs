// Organisation-wide accounts (issue 25) in headless Chromium through the library: the tenant's
// admin opens the pop-up, sees our client id and the scopes to authorize, types the domain and
// their address, presses Check; the server proves the delegation by minting the admin's token
// at a local token endpoint that verifies the RFC 7523 assertion with the key's public half
// (npm jose: signature, iss, sub, aud, scope, exp); the page gets an admin account for the
// domain, and the app then acts as a user of the domain through the raw API. The endpoint is a
// custom `kind = "service_account"` provider, the Google Workspace entry's shape at a local URL.
// Microsoft 365 likewise: a custom provider of the `microsoft_365` entry's shape (an admin-consent
// `authorization_url`), whose local Entra double serves the consent page (Accept / Cancel links
// back to the callback, as Microsoft's answers are documented) and issues client-credentials
// tokens per tenant; the admin types the tenant, consents, and the app acts as two users.
// Box likewise: a custom provider of the `box_enterprise` entry's shape (`client_secret_post`),
// whose local double mints enterprise and user tokens by the Client Credentials Grant
// (`box_subject_type`, `box_subject_id`); the admin types the enterprise id and presses Check.
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
let app, api, browser, google, tokenUrl, entra;
const tenant = 'aaaabbbb-0000-cccc-1111-dddd2222eeee';
const m365Client = '11112222-aaaa-3333-bbbb-4444cccc5555';
const m365Secret = 'e2e-entra-secret';
const m365Minted = [];
const boxClient = 'h5z4c7jqyn95dh3n06tv92x3ceztj0qi';
const boxSecret = 'e2e-box-secret';
const enterprise = '575619';
const boxMinted = [];
let boxDouble;

/** The Box double: the Client Credentials Grant's tokens, and the API. */
function startBox() {
  return createServer(async (req, res) => {
    const reply = (status, body) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.method !== 'POST' || req.url !== '/oauth2/token') {
      return reply(200, { called_with: (req.headers.authorization ?? '').replace('Bearer ', ''), path: req.url });
    }
    let body = '';
    for await (const chunk of req) body += chunk;
    const form = new URLSearchParams(body);
    if (form.get('grant_type') !== 'client_credentials' || form.get('client_id') !== boxClient
      || form.get('client_secret') !== boxSecret) {
      return reply(400, { error: 'invalid_client', error_description: 'The client credentials are invalid' });
    }
    const subject = `${form.get('box_subject_type')}-${form.get('box_subject_id')}`;
    boxMinted.push(subject);
    if (![`enterprise-${enterprise}`, 'user-11', 'user-12'].includes(subject)) {
      return reply(400, { error: 'invalid_grant', error_description: 'Grant credentials are invalid' });
    }
    return reply(200, { access_token: `at-${subject}`, expires_in: 3600, restricted_to: [], token_type: 'bearer' });
  });
}

/** The Entra and Graph double: consent page, client-credentials tokens, organization, Graph. */
function startEntra() {
  return createServer(async (req, res) => {
    const url = new URL(req.url, 'http://local');
    const reply = (status, body) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const consent = /^\/([^/]+)\/v2\.0\/adminconsent$/.exec(url.pathname);
    if (consent) {
      const back = (answer) => `${url.searchParams.get('redirect_uri')}?${new URLSearchParams({ ...answer, state: url.searchParams.get('state') })}`;
      assert.equal(url.searchParams.get('client_id'), m365Client);
      assert.equal(url.searchParams.get('scope'), 'https://graph.microsoft.com/.default');
      const accept = back({ admin_consent: 'True', tenant });
      const cancel = back({ error: 'access_denied', error_description: 'AADSTS65004: The admin declined to consent.' });
      return res.writeHead(200, { 'content-type': 'text/html' }).end(`<h1>Permissions requested</h1><p>${consent[1]}</p>`
        + `<a id="accept" href="${accept.replaceAll('&', '&amp;')}">Accept</a> <a id="cancel" href="${cancel.replaceAll('&', '&amp;')}">Cancel</a>`);
    }
    if (req.method === 'POST' && url.pathname === `/${tenant}/oauth2/v2.0/token`) {
      let body = '';
      for await (const chunk of req) body += chunk;
      const form = new URLSearchParams(body);
      if (form.get('grant_type') !== 'client_credentials' || form.get('client_id') !== m365Client
        || form.get('client_secret') !== m365Secret) {
        return reply(401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' });
      }
      m365Minted.push(tenant);
      return reply(200, { access_token: `at-${tenant}-${m365Minted.length}`, expires_in: 3599, token_type: 'Bearer' });
    }
    const token = (req.headers.authorization ?? '').replace('Bearer ', '');
    if (url.pathname === '/v1.0/organization') {
      return reply(200, { value: [{ id: tenant, displayName: 'Contoso', verifiedDomains: [{ name: 'contoso.test', isDefault: true }] }] });
    }
    return reply(200, { called_with: token, path: url.pathname });
  });
}

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
  entra = startEntra();
  await new Promise((resolve) => entra.listen(0, '127.0.0.1', resolve));
  const entraBase = `http://127.0.0.1:${entra.address().port}`;
  boxDouble = startBox();
  await new Promise((resolve) => boxDouble.listen(0, '127.0.0.1', resolve));
  const boxBase = `http://127.0.0.1:${boxDouble.address().port}`;
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
      + `token_url = "${tokenUrl}"\napi_base = "${base}"\nscopes = ["${scope}"]\nkey_file = "${keyFile}"\n`
      + '[[providers]]\nid = "m365"\nkind = "service_account"\nname = "M365"\ncategory = "storage"\n'
      + `authorization_url = "${entraBase}/{tenant}/v2.0/adminconsent"\ntoken_url = "${entraBase}/{tenant}/oauth2/v2.0/token"\n`
      + `api_base = "${entraBase}"\nscopes = ["https://graph.microsoft.com/.default"]\n`
      + `client_id = "${m365Client}"\nclient_secret = "${m365Secret}"\n`
      + '[[providers]]\nid = "boxent"\nkind = "service_account"\nname = "Box Enterprise"\ncategory = "storage"\n'
      + `token_url = "${boxBase}/oauth2/token"\napi_base = "${boxBase}"\nscopes = ["root_readwrite"]\nclient_auth = "client_secret_post"\n`
      + `client_id = "${boxClient}"\nclient_secret = "${boxSecret}"\n`,
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  api?.stop();
  app?.stop();
  google?.close();
  entra?.close();
  boxDouble?.close();
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

test('a Microsoft 365 admin consents for the tenant; a refusal is shown; the app acts as two users', async () => {
  // The admin cancels at Microsoft: the provider's code on the pop-up's result, nothing stored.
  {
    const { context, page } = await openAppAt(browser, app, api, 'm365');
    const popup = await clickForPopup(page);
    assert.equal(await popup.textContent('[data-field="client-id"]'), m365Client);
    await popup.fill('#tenant', 'common');
    await popup.click('[data-action="connect"]');
    await popup.waitForSelector('#domain-error');
    assert.match(await popup.textContent('#domain-error'), /tenant ID/);
    await popup.fill('#tenant', 'contoso.test');
    await popup.click('[data-action="connect"]');
    await popup.waitForSelector('#cancel');
    assert.match(await popup.textContent('h1'), /Permissions requested/);
    assert.equal(await popup.textContent('p'), 'contoso.test', 'the consent asked of the tenant typed');
    await popup.click('#cancel');
    const refused = await onlyResult(page);
    assert.equal(refused.error, 'access_denied', JSON.stringify(refused));
    assert.match(refused.error_description, /AADSTS65004/);
    assert.equal(m365Minted.length, 0);
    await context.close();
  }
  const { context, page } = await openAppAt(browser, app, api, 'm365');
  const popup = await clickForPopup(page);
  await popup.fill('#tenant', 'contoso.test');
  await popup.click('[data-action="connect"]');
  await popup.waitForSelector('#accept');
  await popup.click('#accept');
  const result = await onlyResult(page);
  assert.equal(result.token_type, 'Bearer', JSON.stringify(result));
  assert.equal(result.account.account, 'contoso.test');
  assert.equal(result.account.admin, true);
  await context.close();

  const raw = (user) => fetch(`${api.baseUrl}/v1/accounts/${result.account.id}/raw`, {
    headers: { authorization: `APIKey ${apiKey}`, 'x-kloudless-raw-uri': '/v1.0/me/drive/root', 'x-kloudless-as-user': user },
  });
  for (const user of ['ann@contoso.test', 'bob@contoso.test']) {
    const reply = await raw(user);
    assert.equal(reply.status, 200);
    assert.deepEqual(await reply.json(), { called_with: `at-${tenant}-2`, path: `/v1.0/users/${user}/drive/root` });
  }
  assert.equal(m365Minted.length, 2, 'one token at the consent, one shared by both users');
  assert.equal((await raw('eve@evil.test')).status, 403);
});

test('a Box admin connects the enterprise by its id; the app acts as two users with their own tokens', async () => {
  const { context, page } = await openAppAt(browser, app, api, 'boxent');
  const popup = await clickForPopup(page);
  assert.equal(await popup.textContent('[data-field="client-id"]'), boxClient);
  assert.match(await popup.textContent('ol.steps'), /Enterprise ID/);
  // Not an id: the form again, nothing minted.
  await popup.fill('#enterprise_id', 'acme.test');
  await popup.click('[data-action="connect"]');
  await popup.waitForSelector('#domain-error');
  assert.match(await popup.textContent('#domain-error'), /digits only/);
  assert.equal(boxMinted.length, 0);
  // An enterprise that has not authorized the app: Box's code on the page.
  await popup.fill('#enterprise_id', '999999');
  await popup.click('[data-action="connect"]');
  await popup.waitForSelector('#form-error');
  assert.match(await popup.textContent('#form-error'), /invalid_grant/);
  await popup.fill('#enterprise_id', enterprise);
  await popup.click('[data-action="connect"]');
  const result = await onlyResult(page);
  assert.equal(result.token_type, 'Bearer', JSON.stringify(result));
  assert.equal(result.account.account, enterprise);
  assert.equal(result.account.admin, true);
  await context.close();

  const raw = (user) => fetch(`${api.baseUrl}/v1/accounts/${result.account.id}/raw`, {
    headers: { authorization: `APIKey ${apiKey}`, 'x-kloudless-raw-uri': '/2.0/folders/0', 'x-kloudless-as-user': user },
  });
  for (const user of ['11', '12']) {
    const reply = await raw(user);
    assert.equal(reply.status, 200);
    assert.deepEqual(await reply.json(), { called_with: `at-user-${user}`, path: '/2.0/folders/0' });
  }
  assert.equal((await raw('999')).status, 403, 'a user Box refuses');
  assert.equal((await raw('eve@evil.test')).status, 403, 'not a Box id');
});
