// The JS API over the WebAssembly module (wasm-bindgen's generated glue), shared by the ES
// module and the script-tag build. Importing this reads only `location` (to find a result a
// pop-up brought back: see returned.js): the wasm is instantiated (synchronously, from bytes
// embedded in the bundle) on the first call, so the API is usable as soon as it is called.
import * as glue from '../build/wb/kloudless_authenticator.js';
// js/build.mjs embeds the wasm as a function that decodes its bytes on first use.
import decodeWasm from '../build/kloudless_authenticator.wasm';
import { handOverReturnedResult } from './returned.js';

handOverReturnedResult();

let ready = false;
/** The module's exports, instantiated on first use. */
function wasm() {
  if (!ready) {
    glue.initSync({ module: decodeWasm() });
    ready = true;
  }
  return glue;
}

/** The Kloudless API version spoken: `'v1'`. */
export const apiVersion = 'v1';

/**
 * `authenticator(element, options, callback)` or `authenticator(options, callback)`.
 * Returns `{ launch, cancel, destroy }`; a click on `element` (an Element or jQuery object)
 * launches too. `launch()` returns `true` when it started a new flow (whose callback will
 * come), `false` when it focused the pending flow's pop-up. `cancel()` ends a pending flow with
 * one `cancelled` callback; `destroy()` releases the authenticator: a pending flow ends with no
 * callback. Both close its pop-up. (The module frees an authenticator the page drops.)
 */
export function authenticator(element, options, callback) {
  const made = wasm().authenticator(element, options, callback);
  return {
    launch: () => made.launch(),
    cancel: () => made.cancel(),
    destroy: () => made.destroy(),
  };
}

/** Stops a click on `element` from launching the pop-up; its pending flow ends as `cancelled`. */
export function stop(element) {
  wasm().stop(element);
}

/** Sets the global options `{ baseUrl, debug, requestTimeout, flowTimeout }`. */
export function setGlobalOptions(options = {}) {
  wasm().setGlobalOptions(options);
}

/** Returns the global options `{ baseUrl, debug, requestTimeout, flowTimeout }`. */
export function getGlobalOptions() {
  return wasm().getGlobalOptions();
}

export default { authenticator, stop, apiVersion, getGlobalOptions, setGlobalOptions };
