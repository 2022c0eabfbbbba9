// The JS API over the WebAssembly module, shared by the ES module and the script-tag build.
// Importing this reads only `location` (to find a result a pop-up brought back: see
// returned.js): the wasm is compiled (synchronously, from bytes embedded in the bundle) on the
// first call, so the API is usable as soon as it is called.
import { instantiate } from './host.js';
import { handOverReturnedResult } from './returned.js';
// js/build.mjs embeds the wasm as a function that decodes its bytes on first use.
import decodeWasm from '../build/kloudless_authenticator.wasm';

handOverReturnedResult();

let module;
// The module, instantiated on first use.
const wasm = () => (module = module || instantiate(decodeWasm()));
// Puts a JS value in the module's table, for an export that takes it over.
const hold = (value) => wasm().hold(value);
// Runs an export with up to three numbers; throws what it handed over if `failed(result)`,
// else returns `{ result, given }`. (No array destructuring or spread: a page can patch the
// array iterator.)
function run(failed, name, a, b, c) {
  const done = wasm().call(name, a, b, c);
  if (failed(done.result)) throw new Error(done.given);
  return done;
}
const never = () => false;
// Frees an authenticator's instance once the page drops it (without destroy()).
const dropped = typeof FinalizationRegistry === 'function'
  ? new FinalizationRegistry((id) => run(never, 'kl_release', id, 0)) : null;

/** The Kloudless API version spoken: `'v1'`. */
export const apiVersion = 'v1';

/**
 * `authenticator(element, options, callback)` or `authenticator(options, callback)`.
 * Returns `{ launch, cancel, destroy }`; a click on `element` (an Element or jQuery object)
 * launches too. `launch()` returns `true` when it started a new flow (whose callback will
 * come), `false` when it focused the pending flow's pop-up. `cancel()` ends a pending flow with
 * one `cancelled` callback; `destroy()` releases the authenticator: a pending flow ends with no
 * callback. Both close its pop-up.
 */
export function authenticator(element, options, callback) {
  let id = run((made) => made === 0, 'kl_authenticator', hold(element), hold(options), hold(callback)).result;
  const handle = {
    launch() {
      if (!id) throw new Error('This authenticator was destroyed.');
      return run((started) => started < 0, 'kl_launch', id).result === 1;
    },
    cancel() {
      if (id) run(never, 'kl_cancel', id);
    },
    destroy() {
      const destroyed = id;
      if (destroyed) {
        id = 0; // first: whatever happens below, this authenticator is done
        dropped?.unregister(handle);
        run(never, 'kl_release', destroyed, 1);
      }
    },
  };
  dropped?.register(handle, id, handle);
  return handle;
}

/** Stops a click on `element` from launching the pop-up; its pending flow ends as `cancelled`. */
export function stop(element) {
  run(never, 'kl_stop', hold(element));
}

/** Sets the global options `{ baseUrl, debug, requestTimeout, flowTimeout }`. */
export function setGlobalOptions(options = {}) {
  run((ok) => !ok, 'kl_set_globals', hold(options));
}

/** Returns the global options `{ baseUrl, debug, requestTimeout, flowTimeout }`. */
export function getGlobalOptions() {
  return JSON.parse(run(never, 'kl_get_globals').given);
}

export default { authenticator, stop, apiVersion, getGlobalOptions, setGlobalOptions };
