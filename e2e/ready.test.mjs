// Ready at once: the script-tag build makes the API usable synchronously, and a click right
// after the page loads opens the pop-up inside the click, so Chromium's pop-up blocker (on
// here) lets it through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { environment } from './harness.mjs';

const env = environment({ browser: { popupBlocking: true } });

test('the API is usable synchronously and a click right after load opens the pop-up in the click', async () => {
  for (let run = 0; run < 3; run++) {
    const context = await env.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${env.app.origin}/ready.html?${new URLSearchParams({ api: env.api.baseUrl })}`, { waitUntil: 'commit' });
    const popup = page.waitForEvent('popup', { timeout: 10000 });
    // Clicks as soon as the page's own script has bound the button, while the page may still
    // be loading: nothing to wait for, no queue.
    await page.waitForFunction(() => window.ready, null, { polling: 'raf' });
    await page.click('#connect');
    await popup;
    const ready = await page.evaluate(() => window.ready);
    assert.deepEqual({ api: ready.api, options: ready.options }, { api: true, options: 'https://api.kloudless.com' });
    assert.deepEqual(await page.evaluate(() => window.clicks), [{ sameTask: true }]);
    assert.deepEqual(await page.evaluate(() => window.results), [], 'not blocked, nothing reported');
    await context.close();
  }
});
