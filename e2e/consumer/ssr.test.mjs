// The package installed from its tarball, as an app's server would meet it (Next.js, Nuxt):
// importing any entry reads no browser global but `location` (to find a result a pop-up brought
// back, which under Node it does not), and its components render to HTML on the server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createElement } from 'react';
import { renderToString as renderReact } from 'react-dom/server';
import { createSSRApp, h } from 'vue';
import { renderToString as renderVue } from 'vue/server-renderer';

const here = dirname(fileURLToPath(import.meta.url));
const browserGlobals = ['window', 'document', 'location', 'navigator', 'self', 'screen', 'localStorage',
  'sessionStorage', 'addEventListener', 'postMessage', 'open'];

/** Makes every browser global a getter that records its name; returns the list. */
function trapBrowserGlobals() {
  const touched = [];
  for (const name of browserGlobals) {
    Object.defineProperty(globalThis, name, {
      configurable: true,
      get() { touched.push(name); return undefined; },
    });
  }
  return touched;
}

// React and Vue (the peers, imported above) may look for a document themselves; the traps are
// set after them, so they record what this package's code touches.
const touched = trapBrowserGlobals();
const entries = {
  main: await import('kloudless-authenticator'),
  react: await import('kloudless-authenticator/react'),
  vue: await import('kloudless-authenticator/vue'),
  script: await import('kloudless-authenticator/script'),
};
const touchedByImports = [...touched];

test('importing every entry reads no browser global but location, and finds none', () => {
  assert.ok(touchedByImports.length > 0, 'each build looks for a returned result once');
  assert.deepEqual([...new Set(touchedByImports)], ['location']);
  assert.equal(typeof entries.main.default.authenticator, 'function');
  assert.equal(typeof entries.react.AuthButton, 'object'); // a forwardRef component
  assert.equal(typeof entries.vue.default, 'object');
  assert.equal(globalThis.Kloudless.auth.apiVersion, 'v1', 'the script build defines Kloudless.auth');
});

test('the API works under Node until something needs a browser window', () => {
  const { default: auth, authenticator } = entries.main;
  touched.length = 0;
  assert.equal(auth.apiVersion, 'v1');
  assert.equal(auth.authenticator, authenticator);
  assert.deepEqual(auth.getGlobalOptions(),
    { baseUrl: 'https://api.kloudless.com', debug: false, requestTimeout: 10000, flowTimeout: 0 });
  assert.throws(() => auth.authenticator({}, () => {}), /An App ID is required\./);
  const instance = auth.authenticator({ client_id: 'app' }, () => {});
  assert.deepEqual(touched, [], 'creating an authenticator touches nothing');
  assert.throws(() => instance.launch(), /needs a browser window/);
  instance.destroy();
  assert.throws(() => instance.launch(), /This authenticator was destroyed\./);
});

test('React AuthButton renders on the server with the original props', () => {
  const { AuthButton } = entries.react;
  const html = renderReact(createElement(AuthButton, {
    options: { client_id: 'app' }, onSuccess() {}, className: 'btn', id: 'connect', 'data-test': 'x',
  }));
  assert.equal(html, '<button id="connect" data-test="x" class="btn" type="button">Connect Account</button>');
  const disabled = renderReact(createElement(AuthButton, { options: { client_id: 'app' }, onSuccess() {}, title: 'Go', disabled: true }));
  assert.equal(disabled, '<button class="" type="button" disabled="">Go</button>');
});

test('Vue AuthButton renders on the server with the original attributes', async () => {
  const AuthButton = entries.vue.default;
  const html = await renderVue(createSSRApp({
    render: () => h(AuthButton, { options: { client_id: 'app' }, class: 'btn', title: 'Go', disabled: 'false' }),
  }));
  assert.equal(html, '<button type="button" class="btn">Go</button>');
  const disabled = await renderVue(createSSRApp({ render: () => h(AuthButton, { options: { client_id: 'app' }, disabled: true }) }));
  assert.equal(disabled, '<button type="button" disabled>Connect Account</button>');
});

test('the types check: tsc --noEmit on a typed consumer of every entry', () => {
  // Throws (with tsc's report) on any type error, or on an @ts-expect-error that expects none.
  execFileSync(join(here, 'node_modules/.bin/tsc'), ['--noEmit', '-p', here], { encoding: 'utf8' });
});
