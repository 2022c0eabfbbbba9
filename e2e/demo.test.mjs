// The demo as a new user meets it: the server's own page at /, the script-tag build, a click.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApi, launchBrowser, freePort, clickForPopup, connect } from './harness.mjs';

test('the demo page connects an account and shows it', async () => {
  const port = await freePort();
  // The demo page on localhost talks to the API on 127.0.0.1 (same server, another origin).
  const api = await startApi([{ client_id: 'demo', trusted_domains: [`localhost:${port}`] }],
    { listen: `127.0.0.1:${port}` });
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    await page.goto(`http://localhost:${port}/`);
    assert.equal(await page.textContent('#base-url'), `http://127.0.0.1:${port}`);
    const popup = await clickForPopup(page);
    await connect(popup, 'gdrive', 'demo.user@example.com');
    await page.waitForSelector('#result[data-state="success"]');
    const shown = JSON.parse(await page.textContent('#result'));
    assert.equal(shown.account.service, 'gdrive');
    assert.match(await page.textContent('#log'), /Connected gdrive account/);
  } finally {
    await browser.close();
    api.stop();
  }
});
