// The examples as a user meets them: the React and Vue apps built with Vite from the packed npm
// package, and the script-tag page, each served from an origin other than the API server's;
// their buttons clicked in headless Chromium, the server's pop-up driven to connect or deny.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root, startApi, startApp, launchBrowser, sleep, clickForPopup, connect } from './harness.mjs';

const frameworks = ['react', 'vue'];
let api;
let app;
let browser;

before(async () => {
  const out = mkdtempSync(join(tmpdir(), 'kloudless-examples-'));
  const mounts = { '/': root };
  for (const name of frameworks) mounts[`/${name}/`] = join(out, name);
  app = await startApp(mounts);
  api = await startApi([{ client_id: 'examples', trusted_domains: [`localhost:${app.port}`] }]);
  for (const name of frameworks) {
    const dir = join(root, 'examples', name);
    execFileSync(join(dir, 'node_modules/.bin/vite'), ['build', '--base', `/${name}/`, '--outDir', join(out, name), '--emptyOutDir'], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, VITE_KLOUDLESS_BASE_URL: api.baseUrl, VITE_KLOUDLESS_CLIENT_ID: 'examples' },
    });
  }
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  api?.stop();
  app?.stop();
});

async function open(path) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(`${app.origin}${path}`);
  return { context, page, errors };
}

/** The entries of the example's event list, once it has at least `count` of them. */
async function events(page, count) {
  await page.waitForFunction((n) => document.querySelectorAll('#events li').length >= n, count, { timeout: 15000 });
  return page.$$eval('#events li', (items) => items.map((li) => ({ kind: li.dataset.kind, text: li.textContent })));
}

/** Waits past the pop-up grace period, then returns the event list (to assert nothing more came). */
async function settled(page) {
  await sleep(2000);
  return events(page, 0);
}

for (const name of frameworks) {
  test(`${name}: AuthButton hands success to onSuccess and a denial to onError`, async () => {
    const { context, page, errors } = await open(`/${name}/`);
    let popup = await clickForPopup(page, '#auth-button');
    await connect(popup, 'gdrive', `${name}@example.com`);
    const [click, success] = await events(page, 2);
    assert.equal(click.kind, 'click');
    assert.deepEqual(success, { kind: 'success', text: `success gdrive ${name}@example.com` });
    assert.ok(popup.isClosed());

    popup = await clickForPopup(page, '#auth-button');
    await popup.click('[data-action="deny"]');
    const all = await events(page, 4);
    assert.equal(all[2].kind, 'click');
    assert.equal(all[3].kind, 'error');
    assert.match(all[3].text, /^error access_denied: /);
    assert.equal((await settled(page)).length, 4, 'one handler call per flow');
    assert.deepEqual(errors, []);
    await context.close();
  });

  test(`${name}: useAuthenticator exposes pending, then the result`, async () => {
    const { context, page } = await open(`/${name}/`);
    const state = page.locator('#hook-state');
    assert.equal(await state.getAttribute('data-state'), 'idle');
    const popup = await clickForPopup(page, '#hook-button');
    assert.equal(await state.getAttribute('data-state'), 'pending');
    await connect(popup, 'dropbox', 'hook@example.com');
    await page.waitForSelector('#hook-state[data-state="success"]', { timeout: 15000 });
    assert.equal(await state.textContent(), 'dropbox hook@example.com');
    await context.close();
  });

  test(`${name}: unmounting AuthButton mid-flow closes its pop-up and calls no handler`, async () => {
    const { context, page } = await open(`/${name}/`);
    const popup = await clickForPopup(page, '#auth-button');
    const closed = popup.waitForEvent('close', { timeout: 5000 });
    await page.click('#toggle');
    assert.equal(await page.locator('#auth-button').count(), 0);
    await closed;
    const after = await settled(page);
    assert.deepEqual(after.map((e) => e.kind), ['click'], 'no success or error after unmount');
    await context.close();
  });
}

test('script tag: an element, a jQuery object and launch() each connect or deny', async () => {
  const { context, page, errors } = await open(
    `/examples/script-tag/?${new URLSearchParams({ api: api.baseUrl, client_id: 'examples' })}`);
  let popup = await clickForPopup(page, '#auth-button');
  await connect(popup, 'box', 'tag@example.com');
  assert.deepEqual(await events(page, 1), [{ kind: 'success', text: 'element: box tag@example.com' }]);

  popup = await clickForPopup(page, '#jquery-button');
  await popup.click('[data-action="deny"]');
  const [, denied] = await events(page, 2);
  assert.equal(denied.kind, 'error');
  assert.match(denied.text, /^jquery: access_denied: /);

  popup = await clickForPopup(page, '#launch-button');
  await connect(popup, 'hubspot', 'crm@example.com');
  const [, , launched] = await events(page, 3);
  assert.deepEqual(launched, { kind: 'success', text: 'launch: hubspot crm@example.com' });
  assert.equal((await settled(page)).length, 3);
  assert.deepEqual(errors, []);
  await context.close();
});
