// The pop-up's languages in Chromium: a de-DE or ja-JP browser (its Accept-Language) gets the
// pages in its language, the `locale` parameter (the library's `locale` option) wins over it
// through the whole flow, and axe-core finds no serious or critical violation on any pop-up
// page in any language.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { startApp, startApi, launchBrowser, clickForPopup, root } from './harness.mjs';

let app, api, browser, checker;
const origin = 'http://localhost:3000';
const languages = ['en', 'de', 'fr', 'es', 'ja'];

before(async () => {
  app = await startApp();
  // The API-key service's check: every key is refused.
  checker = createServer((req, res) => res.writeHead(401).end());
  await new Promise((resolve) => checker.listen(0, '127.0.0.1', resolve));
  const config = '[[providers]]\nid = "box"\nkind = "demo"\n[[providers]]\nid = "dropbox"\nkind = "demo"\n'
    + '[[providers]]\nid = "keyed"\nkind = "api_key"\nname = "Keyed"\ncategory = "crm"\n'
    + `check_url = "http://127.0.0.1:${checker.address().port}/me"\n`
    + '[[providers]]\nid = "server"\nkind = "oauth2"\nname = "Server"\ncategory = "itsm"\n'
    + 'client_id = "broker"\nclient_secret = "s"\nhostname_pattern = "*.server.test"\n'
    + 'authorization_url = "https://{hostname}/auth"\ntoken_url = "https://{hostname}/token"\n'
    + 'identity_url = "https://{hostname}/me"\n';
  api = await startApi([{ client_id: 'acme', trusted_domains: ['localhost:3000', `localhost:${app.port}`] }], { config });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await api?.stop();
  app?.stop();
  checker?.close();
});

/** The pop-up's URL for `scope`, with `extra` parameters. */
function popupUrl(scope = '', extra = {}) {
  const params = { client_id: 'acme', origin, state: 's', request_id: 'r1', response_type: 'token',
    redirect_uri: 'urn:ietf:wg:oauth:2.0:oob', scope, ...extra };
  return `${api.baseUrl}/v1/oauth?${new URLSearchParams(params)}`;
}

/** `url` in a fresh context with `options` (`locale`: the browser's language). */
async function open(url, options = {}) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  await page.goto(url);
  return { context, page };
}

const lang = (page) => page.getAttribute('html', 'lang');

test('a de-DE browser gets the pages in German, type-ahead count included', async () => {
  const { context, page } = await open(popupUrl(), { locale: 'de-DE' });
  assert.equal(await lang(page), 'de');
  assert.equal(await page.textContent('h1'), 'acme möchte eines Ihrer Konten verbinden');
  assert.equal(await page.textContent('[data-action="deny"]'), 'Abbrechen');
  assert.equal(await page.textContent('label[for="search"]'), 'Dienste suchen');
  assert.equal(await page.textContent('#search-count'), '4 Dienste');
  await page.fill('#search', 'drop');
  assert.equal(await page.textContent('#search-count'), '1 von 4 Diensten');
  await Promise.all([page.waitForURL(/service=dropbox/), page.click('[data-service="dropbox"]')]);
  assert.match(await page.textContent('h1'), /^Ihr Dropbox.*-Konto verbinden$/);
  await Promise.all([page.waitForLoadState(), page.click('[data-action="deny"]')]);
  await page.waitForSelector('[data-result="error"]');
  assert.equal(await page.textContent('h1'), 'Sie haben abgebrochen: Es wurde kein Konto verbunden.');
  await context.close();
});

test('a ja-JP browser gets the pages in Japanese, errors included', async () => {
  const { context, page } = await open(popupUrl(), { locale: 'ja-JP' });
  assert.equal(await lang(page), 'ja');
  assert.equal(await page.textContent('h1'), 'acme があなたのアカウントへの接続を求めています');
  assert.equal(await page.textContent('[data-action="deny"]'), 'キャンセル');
  await page.goto(popupUrl('', { client_id: 'nope' }));
  assert.equal(await page.textContent('h1'), 'この接続を開始できませんでした');
  assert.equal(await page.textContent('[data-action="close"]'), 'このウィンドウを閉じる');
  await page.click('summary');
  assert.match(await page.textContent('[data-why]'), /^このアプリはこのサーバーに登録されていません/);
  await context.close();
});

test('the locale parameter wins over Accept-Language from chooser to form error to result', async () => {
  const { context, page } = await open(popupUrl('', { locale: 'fr-FR' }), { locale: 'ja-JP' });
  assert.equal(await lang(page), 'fr');
  assert.equal(await page.textContent('h1'), 'acme souhaite connecter l’un de vos comptes');
  // The hostname form, after a refused server name: the error in French too.
  await Promise.all([page.waitForURL(/service=server/), page.click('[data-service="server"]')]);
  assert.equal(await lang(page), 'fr');
  await page.fill('#hostname', 'evil.test');
  await Promise.all([page.waitForURL(/hostname=evil/), page.click('[data-action="continue"]')]);
  assert.equal(await page.textContent('#hostname-error'),
    '« evil.test » n’est pas un nom de serveur de la forme *.server.test.');
  // The API-key form's POST, refused, then the result page after Annuler: still French.
  await page.goto(popupUrl('keyed', { locale: 'fr-FR' }));
  assert.equal(await page.textContent('label[for="secret"]'), 'Clé d’API');
  await page.fill('#secret', 'wrong');
  await Promise.all([page.waitForLoadState(), page.click('[data-action="connect"]')]);
  await page.waitForSelector('[data-error="credentials"]');
  assert.equal(await lang(page), 'fr');
  await Promise.all([page.waitForLoadState(), page.click('[data-action="deny"]')]);
  await page.waitForSelector('[data-result="error"]');
  assert.equal(await page.textContent('h1'), 'Vous avez annulé : aucun compte n’a été connecté.');
  await context.close();
});

test('the library\'s locale option reaches the pop-up, over a de-DE browser', async () => {
  const context = await browser.newContext({ locale: 'de-DE' });
  const page = await context.newPage();
  const options = JSON.stringify({ locale: 'ja-JP' });
  await page.goto(`${app.origin}/app.html?${new URLSearchParams({ api: api.baseUrl, client_id: 'acme', options })}`);
  const popup = await clickForPopup(page);
  assert.equal(new URL(popup.url()).searchParams.get('locale'), 'ja-JP');
  assert.equal(await lang(popup), 'ja');
  assert.equal(await popup.textContent('[data-action="deny"]'), 'キャンセル');
  await context.close();
});

/** Runs axe-core on `page`: its serious and critical violations. */
async function axe(page) {
  await page.addScriptTag({ path: join(root, 'node_modules/axe-core/axe.min.js') });
  const { violations } = await page.evaluate(() => window.axe.run());
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

test('axe-core finds no serious or critical violation on any pop-up page in any language', async () => {
  for (const locale of languages) {
    const pages = {
      chooser: popupUrl('', { locale }),
      'chooser, searched': popupUrl('', { locale, search: 'nothing like it' }),
      'connect form': popupUrl('box', { locale }),
      'API-key form': popupUrl('keyed', { locale }),
      'hostname form': popupUrl('server', { locale }),
      'hostname error': popupUrl('server', { locale, service: 'server', hostname: 'evil.test' }),
      'error page': popupUrl('', { locale, client_id: 'nope' }),
    };
    for (const [name, url] of Object.entries(pages)) {
      const { context, page } = await open(url, { bypassCSP: true });
      assert.equal(await lang(page), locale, `${name} (${locale})`);
      assert.deepEqual(await axe(page), [], `${name} (${locale})`);
      await context.close();
    }
    // The API-key form after a refused key, and the result pages after Connect and Cancel.
    const { context, page } = await open(popupUrl('keyed', { locale }), { bypassCSP: true });
    await page.fill('#secret', 'wrong');
    await Promise.all([page.waitForLoadState(), page.click('[data-action="connect"]')]);
    await page.waitForSelector('[data-error="credentials"]');
    assert.deepEqual(await axe(page), [], `API-key error (${locale})`);
    await Promise.all([page.waitForLoadState(), page.click('[data-action="deny"]')]);
    await page.waitForSelector('[data-result="error"]');
    assert.equal(await lang(page), locale);
    assert.deepEqual(await axe(page), [], `result, cancelled (${locale})`);
    await page.goto(popupUrl('box', { locale }));
    await Promise.all([page.waitForLoadState(), page.click('[data-action="connect"]')]);
    await page.waitForSelector('[data-result="success"]');
    assert.deepEqual(await axe(page), [], `result, connected (${locale})`);
    await context.close();
  }
});
