// The JS API over the WebAssembly module, shared by the ES module and the script-tag build.
// Importing this touches no browser global: the wasm is compiled (synchronously, from bytes
// embedded in the bundle) on the first call, so the API is usable as soon as it is called.
import {
  initSync,
  authenticator as wasmAuthenticator,
  stop as wasmStop,
  setGlobalOptions as wasmSetGlobalOptions,
  getGlobalOptions as wasmGetGlobalOptions,
} from '../build/pkg/kloudless_authenticator.js';
// js/build.mjs embeds the wasm as a function that decodes its bytes on first use.
import decodeWasm from '../build/pkg/kloudless_authenticator_bg.wasm';

let ready = false;
function init() {
  if (!ready) {
    initSync({ module: decodeWasm() });
    ready = true;
  }
}

/** The Kloudless API version spoken: `'v1'`. */
export const apiVersion = 'v1';

/**
 * `authenticator(element, options, callback)` or `authenticator(options, callback)`.
 * Returns `{ launch, cancel, destroy }`; a click on `element` (an Element or jQuery object)
 * launches too. `launch()` returns `true` when it started a new flow (whose callback will
 * come), `false` when it focused the pending flow's pop-up. `cancel()` ends a pending flow with one `cancelled` callback; `destroy()`
 * releases the authenticator: a pending flow ends with no callback. Both close its pop-up.
 */
export function authenticator(element, options, callback) {
  init();
  let instance = wasmAuthenticator(element, options, callback);
  return {
    launch() {
      if (!instance) throw new Error('This authenticator was destroyed.');
      return instance.launch();
    },
    cancel() {
      instance?.cancel();
    },
    destroy() {
      instance?.destroy();
      instance = null;
    },
  };
}

/** Stops a click on `element` from launching the pop-up; its pending flow ends as `cancelled`. */
export function stop(element) {
  init();
  wasmStop(element);
}

/** Sets the global options `{ baseUrl, debug, requestTimeout, flowTimeout }`. */
export function setGlobalOptions(options = {}) {
  init();
  wasmSetGlobalOptions(options);
}

/** Returns the global options `{ baseUrl, debug, requestTimeout, flowTimeout }`. */
export function getGlobalOptions() {
  init();
  return wasmGetGlobalOptions();
}

export default { authenticator, stop, apiVersion, getGlobalOptions, setGlobalOptions };
