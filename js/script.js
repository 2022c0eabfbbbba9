// Script-tag entry: defines window.Kloudless.auth as soon as the script has run, plus the
// original's window.Kloudless.{apiVersion, baseUrl} and deprecated v1.0 aliases.
// It names `globalThis` (the window, in a browser) so that importing it under Node, as
// server-side rendering may, touches no browser global.
import auth from './api.js';

const K = (globalThis.Kloudless = globalThis.Kloudless || {});

const scriptAuth = {
  ...auth,
  authenticator(...args) {
    // Backward compatible: a page-set window.Kloudless.baseUrl overrides the global baseUrl.
    if (K.baseUrl && K.baseUrl !== auth.getGlobalOptions().baseUrl) {
      auth.setGlobalOptions({ baseUrl: K.baseUrl });
    }
    return auth.authenticator(...args);
  },
  setGlobalOptions(options = {}) {
    auth.setGlobalOptions(options);
    if (options.baseUrl) K.baseUrl = options.baseUrl;
  },
};

['stop', 'authenticator'].forEach((key) => {
  K[key] = (...args) => {
    console.log(`[WARN] The method window.Kloudless.${key}() is deprecated since v1.1.`
      + ` Please use window.Kloudless.auth.${key}() instead.`);
    return scriptAuth[key](...args);
  };
});
K.apiVersion = auth.apiVersion;
K.baseUrl = auth.getGlobalOptions().baseUrl;
K.auth = scriptAuth;
