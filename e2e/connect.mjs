// Connecting an account through the real pop-up to the OpenID provider of upstream.mjs: its
// development login and consent pages, driven in Chromium. (Kept out of upstream.mjs, which
// `make demo` also runs, so that it needs neither the browser nor node:test.)
import { openApp, clickForPopup, onlyResult, results } from './harness.mjs';

/** On the provider's development login page: signs in as `login`, then grants consent. */
export async function signIn(popup, login) {
  await popup.waitForURL(/\/interaction\//);
  await popup.fill('input[name="login"]', login);
  await popup.fill('input[name="password"]', 'any password');
  await popup.click('button[type="submit"]');
  await popup.waitForSelector('button:has-text("Continue")');
  await popup.click('button:has-text("Continue")');
}

/**
 * Connects `login` through the app page (`env`: `{ browser, app, api }`) for the provider
 * `scope` names (picked in the chooser when `chooser`), signing in on its pages; returns the
 * page's result — its only one when `exactlyOnce` (waits past the grace period), else its first.
 */
export async function connectAs({ browser, app, api }, scope, login, { chooser = false, exactlyOnce = true } = {}) {
  const { context, page } = await openApp(browser, app, api, chooser ? 'any' : scope);
  const popup = await clickForPopup(page);
  if (chooser) await popup.click(`[data-service="${scope}"]`);
  await signIn(popup, login);
  const result = exactlyOnce ? await onlyResult(page) : (await results(page))[0];
  await context.close();
  return result;
}
