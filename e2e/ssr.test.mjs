// Importing the ES module under plain Node (as server-side rendering does) touches no browser
// global; the API works without a browser until something needs one.
import { test } from 'node:test';
import assert from 'node:assert/strict';

test('importing the ES module touches no browser global', async () => {
  const touched = [];
  for (const name of ['window', 'document', 'location', 'navigator', 'self', 'screen']) {
    Object.defineProperty(globalThis, name, {
      configurable: true,
      get() { touched.push(name); return undefined; },
    });
  }
  const { default: auth, authenticator } = await import('../dist/esm/index.js');
  assert.deepEqual(touched, []);
  assert.equal(auth.apiVersion, 'v1');
  assert.equal(auth.authenticator, authenticator);
  assert.deepEqual(auth.getGlobalOptions(), { baseUrl: 'https://api.kloudless.com', debug: false });
  assert.throws(() => auth.authenticator({}, () => {}), /An App ID is required\./);
  const instance = auth.authenticator({ client_id: 'app' }, () => {});
  assert.equal(typeof instance.launch, 'function');
  assert.deepEqual(touched.filter((name) => name !== 'window'), [], 'only launch() looks for a window');
  assert.throws(() => instance.launch(), /needs a browser window/);
});
