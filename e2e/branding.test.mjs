// The pop-up's own pages in Chromium: an app's branding (name, logo, accent colour), dark mode,
// the chooser's search (by keyboard, and without JavaScript), a form that keeps what was typed
// after an error, and axe-core on every pop-up page in light and dark.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { startApp, startApi, launchBrowser, root } from './harness.mjs';

let app, api, browser, checker;
const origin = 'http://localhost:3000';

before(async () => {
  app = await startApp();
  // The basic service's check: every user name and password is refused.
  checker = createServer((req, res) => res.writeHead(401).end());
  await new Promise((resolve) => checker.listen(0, '127.0.0.1', resolve));
  const demo = (id, name, category) => `[[providers]]\nid = "${id}"\nkind = "demo"\nname = "${name}"\ncategory = "${category}"\n`;
  const categories = ['storage', 'crm', 'calendar', 'chat'];
  const many = Array.from({ length: 36 }, (_, i) => demo(`svc${i}`, `Service ${i}`, categories[i % 4])).join('');
  const config = '[apps.branding]\nname = "Acme CRM"\n'
    + `logo_url = "http://localhost:${app.port}/acme-logo.svg"\naccent_color = "#0a7d5a"\nsupport_url = "https://acme.test/help"\n`
    + '[[providers]]\nid = "dropbox"\nkind = "demo"\n[[providers]]\nid = "box"\nkind = "demo"\n'
    + many
    + '[[providers]]\nid = "intranet"\nkind = "basic"\nname = "Intranet"\ncategory = "storage"\n'
    + 'hostname_pattern = "127.0.0.1:*"\ncheck_url = "http://{hostname}/me"\n';
  api = await startApi([{ client_id: 'acme', trusted_domains: ['localhost:3000', `localhost:${app.port}`] }], {
    prelude: 'allow_private_upstreams = true\n',
    config: `${config}\n[[providers]]\nid = "gdrive"\nkind = "demo"\n`,
  });
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

/** A page in a fresh context (`options`: e.g. no JavaScript, axe allowed past the CSP). */
async function open(url, options = {}) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  await page.goto(url);
  return { context, page };
}

const visibleServices = (page) => page.locator('[data-service]:visible');

test('a branded app\'s chooser shows its name, logo and colour', async () => {
  const { context, page } = await open(popupUrl());
  assert.match(await page.textContent('h1'), /Acme CRM wants to connect one of your accounts/);
  const logo = page.locator('img.app-logo');
  await logo.waitFor();
  assert.ok(await logo.evaluate((img) => img.complete && img.naturalWidth > 0), 'the logo loaded under the CSP');
  assert.equal(await page.$eval('header.app', (h) => getComputedStyle(h).borderTopColor), 'rgb(10, 125, 90)');
  assert.equal(await page.getAttribute('[data-action="support"]', 'href'), 'https://acme.test/help');
  // Provider logos: a bundled icon for Dropbox, a monogram for a service without one.
  assert.equal(await page.locator('[data-service="dropbox"] svg path').count(), 1);
  assert.equal(await page.textContent('[data-service="svc1"] .mono'), 'S');
  assert.equal(await page.textContent('[data-action="deny"]'), 'Cancel');
  await context.close();
});

test('dark mode applies', async () => {
  const { context, page } = await open(popupUrl());
  const background = () => page.$eval('body', (b) => getComputedStyle(b).backgroundColor);
  assert.equal(await background(), 'rgb(246, 247, 249)');
  await page.emulateMedia({ colorScheme: 'dark' });
  assert.equal(await background(), 'rgb(20, 23, 28)');
  assert.equal(await page.$eval('body', (b) => getComputedStyle(b).color), 'rgb(230, 233, 239)');
  await context.close();
});

test('the search narrows 40 services by keyboard alone', async () => {
  const { context, page } = await open(popupUrl());
  assert.equal(await visibleServices(page).count(), 40);
  // Cancel is one Shift+Tab away from the search box, not behind the list.
  await page.keyboard.press('Shift+Tab');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.action), 'deny');
  await page.keyboard.press('Tab');
  // The search box has the focus: type, then Tab past its button to the one service left.
  await page.keyboard.type('drop');
  assert.equal(await visibleServices(page).count(), 1);
  assert.match(await page.textContent('#search-count'), /1 of 40 services/);
  await page.keyboard.type('x');
  assert.equal(await visibleServices(page).count(), 0);
  assert.ok(await page.isVisible('[data-empty]'));
  await page.keyboard.press('Backspace');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.service), 'dropbox');
  await Promise.all([page.waitForURL(/service=dropbox/), page.keyboard.press('Enter')]);
  assert.match(await page.textContent('h1'), /Dropbox/);
  await context.close();
});

test('the search works without JavaScript, by its GET form', async () => {
  const { context, page } = await open(popupUrl(), { javaScriptEnabled: false });
  assert.equal(await page.locator('[data-action="close"]:visible').count(), 0);
  await page.fill('#search', 'Service 2 chat');
  await Promise.all([page.waitForURL(/search=Service/), page.click('[data-action="search"]')]);
  const shown = await page.$$eval('[data-service]', (buttons) => buttons.map((b) => b.dataset.service));
  // Every word matches part of the name, the id or the category: the chat services with a 2.
  assert.deepEqual(shown, ['svc23', 'svc27']);
  assert.match(await page.textContent('#search-count'), /2 of 40 services/);
  assert.equal(await page.inputValue('#search'), 'Service 2 chat');
  await context.close();
});

test('a form error keeps the user name and the server, never the password', async () => {
  const { context, page } = await open(popupUrl('intranet'));
  assert.equal(await page.getAttribute('#hostname', 'placeholder'), '127.0.0.1:443');
  await page.fill('#hostname', `127.0.0.1:${checker.address().port}`);
  await page.fill('#username', 'ann');
  await page.fill('#secret', 'wrong password');
  // The reveal toggle shows the secret.
  await page.click('[data-action="reveal"]');
  assert.equal(await page.getAttribute('#secret', 'type'), 'text');
  await Promise.all([page.waitForLoadState(), page.click('[data-action="connect"]')]);
  await page.waitForSelector('[data-error="credentials"]');
  assert.equal(await page.inputValue('#hostname'), `127.0.0.1:${checker.address().port}`);
  assert.equal(await page.inputValue('#username'), 'ann');
  assert.equal(await page.inputValue('#secret'), '');
  assert.equal(await page.getAttribute('#secret', 'aria-invalid'), 'true');
  assert.equal(await page.getAttribute('#secret-error', 'role'), 'alert');
  assert.equal(await page.getAttribute('#secret', 'aria-describedby'), 'secret-error');
  await context.close();
});

test('an error page says what to do, with a Close button and the detail folded', async () => {
  const { context, page } = await open(popupUrl('', { origin: 'http://evil.test' }));
  assert.equal(await page.textContent('h1'), 'This connection could not start');
  assert.ok(await page.isVisible('[data-action="close"]'));
  assert.ok(!(await page.isVisible('[data-detail]')), 'the detail is folded');
  await page.click('summary');
  assert.match(await page.textContent('[data-detail]'), /not a Trusted Domain/);
  await context.close();
});

/** Runs axe-core on `page`: its serious and critical violations. */
async function axe(page) {
  await page.addScriptTag({ path: join(root, 'node_modules/axe-core/axe.min.js') });
  const { violations } = await page.evaluate(() => window.axe.run());
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

test('axe-core finds no serious or critical violation on any pop-up page, light or dark', async () => {
  const pages = {
    chooser: popupUrl(),
    'chooser, searched': popupUrl('', { search: 'nothing like it' }),
    connect: popupUrl('box'),
    'credentials form': popupUrl('intranet'),
    'hostname error': popupUrl('intranet', { service: 'intranet', hostname: 'evil.test' }),
    'error page': popupUrl('', { client_id: 'nope' }),
  };
  for (const colorScheme of ['light', 'dark']) {
    for (const [name, url] of Object.entries(pages)) {
      const { context, page } = await open(url, { bypassCSP: true, colorScheme });
      assert.deepEqual(await axe(page), [], `${name} (${colorScheme})`);
      await context.close();
    }
    // The result page after Cancel.
    const { context, page } = await open(popupUrl('box'), { bypassCSP: true, colorScheme });
    await Promise.all([page.waitForLoadState(), page.click('[data-action="deny"]')]);
    await page.waitForSelector('[data-result="error"]');
    assert.deepEqual(await axe(page), [], `result (${colorScheme})`);
    await context.close();
  }
});
