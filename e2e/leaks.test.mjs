// Leaks: 1,000 create/launch/cancel cycles and 1,000 complete flows against the real server
// (its pop-up driven over HTTP, the result's one-time code handed over on the page's origin as by
// the page a pop-up whose opener was cut comes back to, and redeemed, the token verified and the account fetched), then no listener, interval, timeout or relay iframe may be left, the
// wasm memory must stop growing after the first hundred of each, and so must the JS values the
// module holds in wasm-bindgen's table (within what the authenticators not yet garbage-collected
// hold).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { environment } from './harness.mjs';

// 1,000 flows from one address, 10 at a time: more than the default quota allows at once.
const env = environment({
  apps: (app) => [{ client_id: 'e2e', trusted_domains: [`localhost:${app.port}`], return_urls: [`${app.origin}/leaks.html`] }],
  browser: { args: ['--js-flags=--expose-gc'] },
  config: '[popup_flows]\nmax_per_client = 2000\n',
});

/** Loads the server's pop-up for `url` over HTTP; resolves to the cookie binding its flow to this "browser". */
async function loadOverHttp(url) {
  const first = await fetch(url);
  await first.text();
  return first.headers.get('set-cookie').split(';')[0];
}

/** Connects the pop-up `loadOverHttp(url)` loaded, posting its form with `cookie`; resolves to the one-time code of its result. */
async function connectOverHttp(url, cookie) {
  const form = new URLSearchParams(new URL(url).search);
  for (const [key, value] of [['service', 'box'], ['account', 'leak@example.com'], ['action', 'connect']]) {
    form.set(key, value);
  }
  const page = await (await fetch(`${env.api.baseUrl}/v1/oauth`, { method: 'POST', body: form, headers: { cookie } })).text();
  return JSON.parse(/id="kloudless-result">(.*?)<\/script>/s.exec(page)[1]).code;
}

async function openPage() {
  const page = await env.browser.newPage();
  await page.exposeFunction('loadOverHttp', loadOverHttp);
  await page.exposeFunction('connectOverHttp', connectOverHttp);
  await page.goto(`${env.app.origin}/leaks.html?${new URLSearchParams({ api: env.api.baseUrl })}`);
  // The library's own listeners and timers appear only once it is used.
  return { page, baseline: await page.evaluate(() => window.snapshot()) };
}

/**
 * Runs `batches` batches of `run(page)`, with a GC after each; returns the wasm size after each
 * and asserts that the JS values the module holds stopped growing.
 */
async function measure(page, batches, run) {
  const sizes = [];
  const handles = [];
  for (let i = 0; i < batches; i++) {
    await run(page);
    await page.evaluate(() => window.gc());
    const now = await page.evaluate(() => window.snapshot());
    sizes.push(now.wasmBytes);
    handles.push(now.heldValues);
  }
  // A hundred authenticators the page dropped may wait for the collector to release theirs:
  // a leak of even one value per cycle would pass a thousand.
  assert.ok(handles[0] > 0 && handles.at(-1) <= 2 * handles[0], `JS values held after each hundred: ${handles}`);
  return sizes;
}

/** Waits until the library holds nothing any more (timers of finished flows may still be firing). */
async function settled(page, baseline) {
  await page.waitForFunction((base) => {
    const now = window.snapshot();
    return now.listeners === base.listeners && now.intervals === 0 && now.timeouts === 0 && now.iframes === 0;
  }, baseline, { timeout: 15000 }).catch(() => {});
  return page.evaluate(() => window.snapshot());
}

test('1,000 create/launch/cancel cycles leave nothing behind and stop growing the wasm memory', async () => {
  const { page, baseline } = await openPage();
  const sizes = await measure(page, 10, async (p) => {
    const errors = await p.evaluate(() => window.cancelCycles(100));
    assert.deepEqual([...new Set(errors)], ['cancelled'], 'each cycle: exactly one cancelled callback');
    assert.equal(errors.length, 100);
  });
  const end = await settled(page, baseline);
  assert.equal(end.listeners, baseline.listeners, `no listener left: ${end.kinds}`);
  assert.equal(end.messageListeners, 0);
  assert.equal(end.intervals, 0, 'no interval left');
  assert.equal(end.timeouts, 0, 'no timeout left');
  assert.equal(end.iframes, 0, 'no relay iframe left');
  assert.ok(sizes[0] > 0);
  assert.deepEqual(sizes.slice(1), sizes.slice(1).map(() => sizes[0]), `wasm memory after each hundred: ${sizes}`);
  await page.close();
});

test('1,000 complete flows against the server leave nothing behind and stop growing the wasm memory', async () => {
  const { page, baseline } = await openPage();
  const sizes = await measure(page, 10, async (p) => {
    const outcomes = await p.evaluate(() => window.completeFlows(100, 10));
    assert.deepEqual([...new Set(outcomes)], ['box'], `each flow connects: ${[...new Set(outcomes)]}`);
  });
  const end = await settled(page, baseline);
  assert.equal(end.listeners, baseline.listeners, `no listener left: ${end.kinds}`);
  assert.equal(end.intervals, 0, 'no interval left');
  assert.equal(end.timeouts, 0, 'no timeout left');
  assert.equal(end.iframes, 0, 'no relay iframe left');
  assert.deepEqual(sizes.slice(1), sizes.slice(1).map(() => sizes[0]), `wasm memory after each hundred: ${sizes}`);
  await page.close();
});
