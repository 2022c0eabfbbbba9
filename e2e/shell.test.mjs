// The browser shell through the public API of the script-tag build (dist/kloudless.authenticator.js)
// in headless Chromium: argument handling, click bindings by identity, the pop-up URL and
// features, blocked and closed pop-ups, the origin and source checks, global options and
// timeouts, cancel(), stop() mid-flow, destroy(), a launch while the result is verified and one
// from the callback, page code that throws inside the library's browser calls. (They were
// wasm-bindgen tests until the shell left wasm-bindgen.) e2e/pages/shell.html stubs window.open
// and fetch and forges messages. No API server runs: the page's baseUrl is API, a loopback port
// Chromium refuses outright, so every request to it fails at once and nothing leaves the machine.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, launchBrowser, sleep } from './harness.mjs';

const API = 'http://127.0.0.1:9';
// The library's timings (src/flow.rs, src/progress.rs).
const POPUP_POLL_MS = 100;
const RETRY_MS = 500;
const GRACE_RETRY_MS = 100;
const POPUP_CLOSED_GRACE_MS = GRACE_RETRY_MS;
// How long to wait before asserting that nothing (more) happened.
const SETTLE_MS = 500;

let app;
let browser;
before(async () => {
  app = await startApp();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  app?.stop();
});

/** A fresh page (its own context, closed after the test `t`) with the library loaded and baseUrl API. */
async function openShell(t) {
  const context = await browser.newContext();
  t.after(() => context.close());
  const page = await context.newPage();
  await page.goto(`${app.origin}/shell.html`);
  await page.evaluate((api) => {
    shell.api = api;
    Kloudless.auth.setGlobalOptions({ baseUrl: api });
  }, API);
  return page;
}

/** The results of the callback `tag` so far. */
const resultsNow = (page, tag = 'main') => page.evaluate((t) => shell.results[t] ?? [], tag);

/** Waits (polling, up to 15 s) until the callback `tag` has at least `count` results; returns them. */
async function results(page, count = 1, tag = 'main') {
  await page.waitForFunction(([n, t]) => shell.results[t]?.length >= n, [count, tag], { timeout: 15000 });
  return resultsNow(page, tag);
}

/** Waits for `count` results, then `settle` ms more, and asserts there are exactly `count`. */
async function exactly(page, count, { settle = SETTLE_MS, tag = 'main' } = {}) {
  await results(page, count, tag);
  await sleep(settle);
  const all = await resultsNow(page, tag);
  assert.equal(all.length, count, `exactly ${count} callback(s): ${JSON.stringify(all)}`);
  return all;
}

/** Launches the page's `auth` again; returns how many pop-ups have been opened. */
const launchAgain = (page) => page.evaluate(() => {
  auth.launch();
  return shell.calls.length;
});

/** The recorded window.open calls: url, name, features, and the pop-up's closed, focusCalls, closeCalls. */
const openCalls = (page) => page.evaluate(() => shell.openCalls());

test('bad arguments throw clear errors', async (t) => {
  const page = await openShell(t);
  const thrown = await page.evaluate(() => {
    const { auth } = Kloudless;
    const callback = shell.recorder();
    return [
      () => auth.authenticator(shell.button(), {}, callback),
      () => auth.authenticator('#button', shell.options(), callback),
      () => auth.authenticator(shell.button(), shell.options(), undefined),
      () => auth.authenticator(shell.options(), 42, undefined), // no element: the arguments shift
      () => auth.setGlobalOptions({ baseUrl: 'ftp://api.test' }),
      () => auth.setGlobalOptions({ baseUrl: 'not a url' }),
    ].map(shell.thrown);
  });
  assert.deepEqual(thrown.slice(0, 4), [
    'An App ID is required.',
    "'element' must be an Element or jQuery object.",
    "'callback' must be a function.",
    "'callback' must be a function.",
  ]);
  for (const message of thrown.slice(4)) assert.equal(typeof message, 'string', 'a bad baseUrl throws');
});

test('a click opens the pop-up with the protocol URL; a second click focuses it', async (t) => {
  const page = await openShell(t);
  const { first, second, results: called, origin, page: pageUrl } = await page.evaluate(() => {
    shell.recordOpen('open');
    Kloudless.auth.setGlobalOptions({ baseUrl: `${shell.api}/` });
    const button = shell.button();
    const options = shell.options({ scope: ['box', 'gdrive'], raw: { a: '1' }, state: 'mine' });
    Kloudless.auth.authenticator(button, options, shell.recorder());
    button.click();
    const first = shell.openCalls();
    // A second click while the flow is pending focuses the pop-up instead of a second flow.
    button.click();
    return { first, second: shell.openCalls(), results: shell.results.main, origin: location.origin, page: location.href };
  });
  assert.equal(first.length, 1);
  const [{ url, name, features, focusCalls }] = first;
  assert.ok(url.startsWith(`${API}/v1/oauth?redirect_uri=urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob&response_type=token&state=`), url);
  assert.ok(url.includes('&client_id=app&scope=box%20gdrive&raw%5Ba%5D=1&request_id='), url);
  const returnTo = pageUrl.split('#')[0];
  assert.ok(url.endsWith(`&origin=${encodeURIComponent(origin)}&return_to=${encodeURIComponent(returnTo)}`), url);
  assert.ok(!url.includes('mine'), `the user's state is dropped: ${url}`);
  assert.match(url.split('&state=')[1].split('&')[0], /^[0-9a-fA-F]{32}$/);
  assert.equal(name, 'kPOPUP');
  assert.ok(features.startsWith('resizable,scrollbars,status,height=600,width=1000,top='), features);
  assert.equal(focusCalls, 1);
  assert.equal(second.length, 1, 'no second pop-up');
  assert.equal(second[0].focusCalls, 2, 'the pending pop-up is focused');
  assert.deepEqual(called, []);
});

test('stop() removes the binding by element identity', async (t) => {
  const page = await openShell(t);
  // The wasm test counted the registry's bindings; here a binding shows as stop() finding it
  // (it logs "No click listener found to remove." otherwise) and as a click launching.
  const seen = await page.evaluate(() => {
    shell.recordOpen('open');
    // Two buttons with identical outerHTML must not collide (the original keyed on outerHTML).
    const [first, second] = [shell.button(), shell.button()];
    Kloudless.auth.authenticator(first, shell.options(), shell.recorder());
    Kloudless.auth.authenticator(shell.jqueryLike(second), shell.options(), shell.recorder());
    const firstFound = shell.stop(shell.jqueryLike(first));
    first.click();
    const afterFirst = shell.calls.length;
    second.click();
    const afterSecond = shell.calls.length;
    const secondFound = shell.stop(second);
    second.click();
    return { firstFound, afterFirst, afterSecond, secondFound, afterStop: shell.calls.length, left: shell.stop(second) };
  });
  assert.equal(seen.firstFound, true, 'the first binding is found, through a jQuery object');
  assert.equal(seen.afterFirst, 0, 'a stopped element no longer launches');
  assert.equal(seen.afterSecond, 1, 'the identical twin still launches');
  assert.equal(seen.secondFound, true, 'the twin was bound');
  assert.equal(seen.afterStop, 1, 'no binding left: a click launches nothing');
  assert.equal(seen.left, false, 'no binding left: stop() finds none');
});

test('binding an element again replaces its binding', async (t) => {
  const page = await openShell(t);
  // The wasm test counted one binding; here one click opens one pop-up, the new binding's.
  const calls = await page.evaluate(() => {
    shell.recordOpen('open');
    const button = shell.button();
    Kloudless.auth.authenticator(button, shell.options({ client_id: 'first' }), shell.recorder('first'));
    Kloudless.auth.authenticator(button, shell.options({ client_id: 'second' }), shell.recorder('second'));
    button.click();
    return shell.openCalls();
  });
  assert.equal(calls.length, 1, 'one click, one pop-up');
  assert.match(calls[0].url, /&client_id=second&/, "the new binding's pop-up");
});

test('a blocked pop-up calls back once with popup_blocked, never inside launch()', async (t) => {
  const page = await openShell(t);
  const during = await page.evaluate(() => {
    shell.recordOpen('blocked');
    Kloudless.auth.authenticator(shell.options(), shell.recorder()).launch();
    return shell.results.main.length;
  });
  assert.equal(during, 0, 'never called back inside launch()');
  const [result] = await exactly(page, 1);
  assert.equal(result.error, 'popup_blocked');
  assert.equal(result.state.length, 32);
});

test('a closed pop-up calls back once, after the grace period; then a launch opens a new one', async (t) => {
  const page = await openShell(t);
  await page.evaluate(() => {
    // Nothing listens at the API: each progress check fails at once.
    shell.recordOpen('closed');
    window.auth = Kloudless.auth.authenticator(shell.options(), shell.recorder());
    shell.launchedAt = performance.now();
    auth.launch();
  });
  const [result] = await exactly(page, 1, { settle: 600 });
  assert.equal(result.error, 'popup_closed');
  // The wasm test checked for no result shortly after launch when its timer woke early enough;
  // the callback's own time says the same on any machine.
  const waited = await page.evaluate(() => shell.times.main[0] - shell.launchedAt);
  assert.ok(waited >= POPUP_CLOSED_GRACE_MS,
    `a closed pop-up is only a hint until the grace period ends: called back after ${waited} ms`);
  const opened = await launchAgain(page);
  assert.equal(opened, 2, 'the flow is over: a new launch opens a new pop-up');
});

test('global options round-trip, and debug switches off', async (t) => {
  const page = await openShell(t);
  const seen = await page.evaluate(() => {
    const set = (options) => {
      Kloudless.auth.setGlobalOptions(options);
      return Kloudless.auth.getGlobalOptions();
    };
    return [set({ debug: true }).debug, set({ debug: false }).debug, set({ baseUrl: 'https://api.example.test' }).baseUrl];
  });
  assert.deepEqual(seen, [true, false, 'https://api.example.test']);
});

test("only messages from the API origin and this flow's pop-up count", async (t) => {
  const page = await openShell(t);
  const state = await page.evaluate(() => {
    Kloudless.auth.setGlobalOptions({ baseUrl: `${shell.api}/` });
    shell.recordOpen('real');
    window.auth = Kloudless.auth.authenticator(shell.options(), shell.recorder());
    auth.launch();
    const forged = shell.message(0, { state: 'forged' });
    shell.post(forged, shell.api, window); // right origin, but from the page, not the pop-up
    shell.post(forged, 'http://127.0.0.1:10', shell.popup(0)); // the pop-up, but another origin
    shell.post(forged, `${shell.api}/`, shell.popup(0)); // origins have no trailing slash
    return shell.ids(0).state;
  });
  await sleep(SETTLE_MS);
  assert.deepEqual(await resultsNow(page), [], 'forged messages are dropped');
  assert.equal((await openCalls(page))[0].closed, false);

  // Ours, with a wrong state.
  await page.evaluate(() => shell.post(shell.message(0, { state: 'forged' }), shell.api, shell.popup(0)));
  const [invalid] = await results(page, 1);
  assert.equal(invalid.error, 'invalid_state');
  assert.equal(invalid.state, state);
  assert.equal((await openCalls(page))[0].closed, true, 'the library closes the pop-up');
  await page.evaluate(() => shell.post(shell.message(0), shell.api, shell.popup(0)));
  await sleep(SETTLE_MS);
  assert.equal((await resultsNow(page)).length, 1, 'nothing after the flow has finished');

  // A valid result whose token cannot be verified (nothing answers at the API): network_error.
  const state2 = await page.evaluate(() => {
    auth.launch();
    const valid = shell.message(1);
    shell.post(valid, shell.api, shell.popup(1));
    shell.post(valid, shell.api, shell.popup(1)); // delivered twice
    return shell.ids(1).state;
  });
  assert.notEqual(state2, state, 'a fresh state per launch');
  const [, failed] = await exactly(page, 2);
  assert.equal(failed.error, 'network_error', 'one callback per flow');
  assert.equal(failed.access_token, undefined, 'no token in an error');
});

test("a message's data is read only after its origin and source pass, and only up to the core's 64 KiB", async (t) => {
  const page = await openShell(t);
  const seen = await page.evaluate(() => {
    shell.recordOpen('real');
    window.auth = Kloudless.auth.authenticator(shell.options(), shell.recorder());
    auth.launch();
    const reads = shell.dataReads();
    const before = shell.wasmBytes();
    const short = shell.message(0);
    shell.post(short, 'http://127.0.0.1:10', shell.popup(0)); // another origin
    shell.post(short, shell.api, window); // not the pop-up
    const readsForForeign = shell.dataReads() - reads;
    const padding = 'x'.repeat(8 << 20);
    shell.post(padding, 'http://127.0.0.1:10', shell.popup(0));
    shell.post(padding, shell.api, window);
    // From the pop-up and the API origin, but over the core's 64 KiB.
    shell.post(shell.message(0, { data: { access_token: 'tok', padding } }), shell.api, shell.popup(0));
    return { readsForForeign, grown: shell.wasmBytes() - before };
  });
  assert.equal(seen.readsForForeign, 0, 'no data read for a message from another origin or window');
  // The module's memory never shrinks: each copy of 8 MiB would have grown it for good.
  assert.ok(seen.grown < 1 << 20, `the wasm memory grew by ${seen.grown} bytes`);
  await sleep(SETTLE_MS);
  assert.deepEqual(await resultsNow(page), [], 'the foreign and the long messages are dropped');
  // The flow goes on: its result is read, and its token cannot be verified here (nothing answers at the API).
  const reads = await page.evaluate(() => {
    const before = shell.dataReads();
    shell.post(shell.message(0), shell.api, shell.popup(0));
    return shell.dataReads() - before;
  });
  assert.equal(reads, 1, "the flow's own message is read");
  const [failed] = await exactly(page, 1);
  assert.equal(failed.error, 'network_error');
});

test('hostile option values throw and leave the library working', async (t) => {
  const page = await openShell(t);
  const { thrown, url } = await page.evaluate(() => {
    shell.recordOpen('open');
    const callback = shell.recorder();
    const cyclic = {};
    cyclic.self = cyclic;
    const hostile = [
      { client_id: 'app', extra_data: cyclic },
      { client_id: 'app', raw: { a: Object.create(null) } },
      { client_id: 'app', get boom() { throw new Error('getter'); } },
    ];
    const thrown = hostile.map((options) => shell.thrown(() => Kloudless.auth.authenticator(options, callback)));
    // Values the original turned into strings still work, null/undefined are dropped.
    const odd = { client_id: 'app', sym: Symbol('s'), n: 1.5, big: 10n, b: false, f() {}, nothing: null, gone: undefined };
    Kloudless.auth.authenticator(odd, callback).launch();
    return { thrown, url: shell.calls[0].url };
  });
  assert.equal(thrown.length, 3);
  for (const message of thrown) assert.match(String(message), /^Each option must be/);
  assert.ok(url.includes('&sym=Symbol(s)&n=1.5&big=10&b=false&f='), url);
  assert.ok(!url.includes('nothing') && !url.includes('gone'), url);
});

test('destroy() ends a pending flow without a callback and unbinds the element', async (t) => {
  const page = await openShell(t);
  // The wasm test counted the registry's bindings; here "unbound" is a click launching nothing
  // and stop() finding no binding.
  const seen = await page.evaluate(() => {
    shell.recordOpen('closed');
    const button = shell.button();
    const auth = Kloudless.auth.authenticator(button, shell.options(), shell.recorder());
    button.click();
    const opened = shell.calls.length;
    auth.destroy();
    const { closeCalls } = shell.openCalls()[0];
    button.click();
    const afterClick = shell.calls.length;
    const bound = shell.stop(button);
    // A control: the same flow, not destroyed, ends with popup_closed after the grace period.
    Kloudless.auth.authenticator(shell.options(), shell.recorder('control')).launch();
    return { opened, closeCalls, afterClick, bound };
  });
  assert.equal(seen.opened, 1);
  assert.equal(seen.closeCalls, 1, 'the pop-up is closed');
  assert.equal(seen.afterClick, 1, 'a click no longer launches');
  assert.equal(seen.bound, false, 'the element is unbound');
  // The pop-up reads as closed: without destroy, popup_closed would have followed by now.
  assert.equal((await results(page, 1, 'control'))[0].error, 'popup_closed');
  await sleep(2 * POPUP_POLL_MS);
  assert.deepEqual(await resultsNow(page), [], 'no callback after destroy');
});

test("destroy() right after a blocked launch suppresses its callback", async (t) => {
  const page = await openShell(t);
  await page.evaluate(() => {
    shell.recordOpen('blocked');
    const auth = Kloudless.auth.authenticator(shell.options(), shell.recorder());
    auth.launch();
    auth.destroy();
    // A control launched after it: its popup_blocked comes after the destroyed one's would have.
    Kloudless.auth.authenticator(shell.options(), shell.recorder('control')).launch();
  });
  assert.equal((await results(page, 1, 'control'))[0].error, 'popup_blocked');
  await sleep(SETTLE_MS);
  assert.deepEqual(await resultsNow(page), [], 'the queued popup_blocked is dropped');
});

test('cancel() ends a pending flow with one cancelled callback', async (t) => {
  const page = await openShell(t);
  const seen = await page.evaluate(() => {
    shell.recordOpen('open');
    window.auth = Kloudless.auth.authenticator(shell.options(), shell.recorder());
    auth.cancel(); // nothing pending: nothing happens
    auth.launch();
    auth.cancel();
    const during = shell.results.main.length;
    const { closeCalls } = shell.openCalls()[0];
    auth.cancel();
    return { during, closeCalls };
  });
  assert.equal(seen.during, 0, 'the callback comes in a later task');
  assert.equal(seen.closeCalls, 1, 'the pop-up is closed');
  const [result] = await exactly(page, 1);
  assert.equal(result.error, 'cancelled');
  const opened = await launchAgain(page);
  assert.equal(opened, 2, 'a new flow can start');
});

test("stop() ends the element's pending flow as cancelled", async (t) => {
  const page = await openShell(t);
  await page.evaluate(() => {
    shell.recordOpen('open');
    window.button = shell.button();
    Kloudless.auth.authenticator(button, shell.options(), shell.recorder());
    button.click();
    Kloudless.auth.stop(button);
  });
  const [result] = await results(page, 1);
  assert.equal(result.error, 'cancelled');
  const calls = await page.evaluate(() => {
    button.click();
    return shell.openCalls();
  });
  assert.equal(calls[0].closeCalls, 1, 'the pop-up is closed');
  assert.equal(calls.length, 1, 'stopped');
});

test('launching again after the pop-up was closed starts over', async (t) => {
  const page = await openShell(t);
  const opened = await page.evaluate(() => {
    shell.recordOpen('closed');
    window.auth = Kloudless.auth.authenticator(shell.options(), shell.recorder());
    auth.launch();
    auth.launch();
    return shell.calls.length;
  });
  assert.equal(opened, 2, 'a closed pop-up cannot be focused: a new flow opens a new one');
  // The first flow's callback comes in a later task; the second flow's pop-up reads as closed
  // only at its first poll: destroyed in between, it never calls back.
  await page.evaluate(() => new Promise((resolve) => {
    const check = () => (shell.results.main?.length ? resolve(auth.destroy()) : setTimeout(check, 0));
    check();
  }));
  const [result] = await resultsNow(page);
  assert.equal(result.error, 'popup_closed');
  await sleep(SETTLE_MS);
  assert.equal((await resultsNow(page)).length, 1);
});

test('the flow timeout ends a flow once, and bad timeouts throw', async (t) => {
  const page = await openShell(t);
  const seen = await page.evaluate(() => {
    const { auth } = Kloudless;
    const bad = [[-1, 0], [1.5, 0], ['10', 0], [1000, NaN]].map(([requestTimeout, flowTimeout]) =>
      shell.thrown(() => auth.setGlobalOptions({ requestTimeout, flowTimeout })));
    const { requestTimeout, flowTimeout } = auth.getGlobalOptions();
    auth.setGlobalOptions({ flowTimeout: 300 });
    shell.recordOpen('open');
    auth.authenticator(shell.options(), shell.recorder()).launch();
    auth.setGlobalOptions({ flowTimeout: 0 }); // the flow under way keeps its timeout
    return { bad, defaults: { requestTimeout, flowTimeout } };
  });
  for (const message of seen.bad) assert.equal(typeof message, 'string', 'a bad timeout throws');
  assert.deepEqual(seen.defaults, { requestTimeout: 10000, flowTimeout: 0 }, 'unchanged by the bad ones');
  const [result] = await exactly(page, 1);
  assert.equal(result.error, 'timeout');
  assert.equal((await openCalls(page))[0].closeCalls, 1, 'the pop-up is closed');
});

// The pop-up reads closed (progress checks start), then its result arrives after all, posted by
// the pop-up or handed over by the page it came back to, and takes longer to verify than a check's
// retry: verified once, and the checks stop.
for (const progress of ['pending', 'hang']) {
  for (const channel of ['posted', 'handed over']) {
    test(`a result ${channel} while checking progress (${progress}) is verified once and the checks stop`, async (t) => {
      const page = await openShell(t);
      await page.evaluate(([mode, tokenDelay]) => {
        shell.recordOpen('real');
        shell.stubFetch(mode, tokenDelay);
        Kloudless.auth.authenticator(shell.options(), shell.recorder()).launch();
        shell.popup(0).close();
      }, [progress, 3 * RETRY_MS]);
      await page.waitForFunction(() => shell.progressChecks() >= 1, null, { timeout: 15000 });
      const checksBefore = await page.evaluate((how) => {
        if (how === 'posted') shell.post(shell.message(0), shell.api, shell.popup(0));
        else shell.handOver(shell.message(0));
        return shell.progressChecks();
      }, channel);
      const [result] = await exactly(page, 1);
      assert.equal(result.access_token, 'tok');
      assert.equal(result.account.service, 'box');
      assert.equal(await page.evaluate(() => shell.progressChecks()), checksBefore, 'no check after the result came');
    });
  }
}

test('a handed-over result passes every check a posted one does', async (t) => {
  const page = await openShell(t);
  await page.evaluate(() => {
    shell.recordOpen('real');
    shell.stubFetch('pending', 0);
    Kloudless.auth.authenticator(shell.options(), shell.recorder()).launch();
    // Another flow's result, a foreign shape and a non-string: dropped, the flow goes on.
    shell.handOver(shell.message(0).replace(shell.ids(0).requestId, 'f'.repeat(32)));
    shell.handOver('kloudless:{"type":"authentication"}');
    shell.handOver({ data: shell.message(0) });
    // A message itself on the channel, not a code: never taken, and nothing is redeemed for it.
    shell.broadcast(shell.message(0));
    shell.broadcast('0'.repeat(64));
  });
  await sleep(300);
  assert.equal(await page.evaluate(() => shell.results.main.length), 0, 'nothing taken');
  const redeemed = await page.evaluate(() => shell.fetches.filter((f) => f.url.endsWith('/oauth/progress/redeem')).length);
  assert.equal(redeemed, 3, 'only the codes were redeemed (the unknown one to no avail)');
  await page.evaluate(() => shell.handOver(shell.message(0, { state: 'f'.repeat(32) })));
  const [result] = await exactly(page, 1);
  assert.equal(result.error, 'invalid_state', 'a wrong state ends the flow, as for a posted result');
  assert.equal(result.access_token, undefined);
});

test('a result brought back to a page that did not hand it over ends with popup_closed and says why', async (t) => {
  const page = await openShell(t);
  await page.evaluate(() => {
    shell.recordOpen('real');
    shell.stubFetch('gone', 0);
    Kloudless.auth.authenticator(shell.options(), shell.recorder()).launch();
    shell.popup(0).close();
  });
  const [result] = await exactly(page, 1);
  assert.equal(result.error, 'popup_closed');
  assert.match(result.error_description, /must load the Kloudless authenticator/);
});

/**
 * Launches with a real pop-up, delivers a valid result from it, and returns the callback's
 * results; on the way, checks what launch() does at each step.
 */
async function deliverValidResult(page, requestTimeout) {
  const seen = await page.evaluate((ms) => {
    Kloudless.auth.setGlobalOptions({ requestTimeout: ms });
    shell.recordOpen('real');
    const auth = Kloudless.auth.authenticator(shell.options(), shell.recorder());
    const launched = [auth.launch(), auth.launch()];
    shell.post(shell.message(0), shell.api, shell.popup(0));
    // While the result is verified (the replies are stubbed, and come in later tasks), a launch
    // neither opens a pop-up nor ends the flow, even once the user has closed its pop-up.
    shell.popup(0).close();
    launched.push(auth.launch());
    return { launched, opened: shell.calls.length };
  }, requestTimeout);
  assert.deepEqual(seen.launched, [true, false, false],
    'a new flow started, then its pop-up is focused, then the flow is being verified');
  assert.equal(seen.opened, 1, 'no new pop-up');
  return results(page, 1);
}

test('a request slower than requestTimeout ends the flow with timeout, and 0 means no limit', async (t) => {
  const page = await openShell(t);
  await page.evaluate(() => shell.stubFetch('hang', 600));
  const limited = await deliverValidResult(page, 200);
  assert.equal(limited.length, 1);
  assert.equal(limited[0].error, 'timeout');
  assert.equal(limited[0].access_token, undefined);
  const [unlimited] = await deliverValidResult(page, 0);
  assert.equal(unlimited.access_token, 'tok', '0: no limit, the slow reply is taken');
});

// A launch from the callback (here of a denied result) keeps its own pop-up: a new pop-up gets
// the same window name, so the finished flow's pop-up must be closed before the callback, not
// after it.
test('a launch from the callback keeps its pop-up', async (t) => {
  const page = await openShell(t);
  const launched = await page.evaluate(() => {
    shell.recordOpen('real');
    const record = shell.recorder();
    const auth = Kloudless.auth.authenticator(shell.options(), (result) => {
      record(result);
      if (shell.results.main.length === 1) shell.relaunched = auth.launch();
    });
    const first = auth.launch();
    shell.post(shell.message(0, { data: { error: 'access_denied' } }), shell.api, shell.popup(0));
    return first;
  });
  assert.equal(launched, true);
  const [result] = await exactly(page, 1);
  assert.equal(result.error, 'access_denied');
  assert.equal(await page.evaluate(() => shell.relaunched), true, 'a new flow from the callback');
  const calls = await openCalls(page);
  assert.equal(calls.length, 2, 'the callback launched again');
  assert.equal(calls[1].closed, false, "the new flow's pop-up is open");
});

// Page code can throw inside the browser calls the library makes (a patched DOM method) or
// break built-ins it could rely on (the array iterator): each call still ends cleanly, and the
// library keeps working. The module must never see an exception unwind through it.
test('page code that throws in browser calls, or a broken array iterator, leaves the library working', async (t) => {
  const page = await openShell(t);
  const seen = await page.evaluate(async () => {
    const { auth } = Kloudless;
    shell.recordOpen('popup');
    const once = (target, name) => {
      const real = target[name];
      target[name] = function patched() {
        target[name] = real;
        throw new Error(`patched ${name} threw`);
      };
    };
    // destroy(): removing the click listener throws.
    const bound = auth.authenticator(shell.button(), shell.options(), shell.recorder('destroyed'));
    once(EventTarget.prototype, 'removeEventListener');
    const destroyed = shell.thrown(() => bound.destroy());
    const button = shell.button();
    auth.authenticator(button, shell.options(), shell.recorder());
    const stopped = shell.stop(button);
    // launch(): adding the message listener throws; the flow still starts, and cancel() ends it.
    const cancelled = auth.authenticator(shell.options(), shell.recorder('cancelled'));
    once(window, 'addEventListener');
    const launched = cancelled.launch();
    cancelled.cancel();
    // A polyfill that breaks the array iterator (it yields the first item only).
    const iterator = Array.prototype[Symbol.iterator];
    Array.prototype[Symbol.iterator] = function first() { return iterator.call(this.length ? [this[0]] : this); };
    let broken;
    try {
      broken = {
        globals: auth.getGlobalOptions().requestTimeout,
        made: typeof auth.authenticator(shell.options(), shell.recorder('iterator')).launch,
        bad: shell.thrown(() => auth.setGlobalOptions({ baseUrl: 'not a url' })),
      };
    } finally {
      Array.prototype[Symbol.iterator] = iterator;
    }
    // A byte order mark is text like any other: not an http(s) URL.
    const bom = shell.thrown(() => auth.setGlobalOptions({ baseUrl: '\uFEFFhttps://api.test' }));
    return { destroyed, stopped, launched, broken, bom, baseUrl: auth.getGlobalOptions().baseUrl };
  });
  assert.deepEqual(seen, {
    destroyed: null,
    stopped: true,
    launched: true,
    broken: { globals: 10000, made: 'function', bad: "'baseUrl' must be an absolute http(s) URL." },
    bom: "'baseUrl' must be an absolute http(s) URL.",
    baseUrl: 'http://127.0.0.1:9',
  });
  const [result] = await exactly(page, 1, { tag: 'cancelled' });
  assert.equal(result.error, 'cancelled');
  assert.deepEqual(await resultsNow(page, 'destroyed'), [], 'a destroyed authenticator never calls back');
  const calls = await openCalls(page);
  assert.equal(calls.length, 1);
  assert.equal(calls[0].closed, true, "the cancelled flow's pop-up is closed");
});

// launch() runs page code before it has stored its flow (here a page's `fetch` wrapper, which
// the launch's preflight warm-up calls): a cancel() or destroy() from there still ends that flow.
test('cancel() or destroy() from page code that launch() runs ends the new flow', async (t) => {
  const page = await openShell(t);
  const launched = await page.evaluate(() => {
    const { auth } = Kloudless;
    shell.recordOpen('popup');
    const onFirstFetch = (run) => {
      const wrapped = window.fetch;
      window.fetch = function fetch(resource, init) {
        window.fetch = wrapped;
        run();
        return wrapped.call(this, resource, init);
      };
    };
    const cancelled = auth.authenticator(shell.options(), shell.recorder('cancelled'));
    onFirstFetch(() => cancelled.cancel());
    const destroyed = auth.authenticator(shell.options(), shell.recorder('destroyed'));
    const first = cancelled.launch();
    onFirstFetch(() => destroyed.destroy());
    return [first, destroyed.launch()];
  });
  assert.deepEqual(launched, [true, true]);
  const [result] = await exactly(page, 1, { tag: 'cancelled' });
  assert.equal(result.error, 'cancelled');
  assert.deepEqual(await resultsNow(page, 'destroyed'), [], 'a destroyed authenticator never calls back');
  assert.deepEqual((await openCalls(page)).map((call) => call.closed), [true, true], 'both pop-ups are closed');
});
