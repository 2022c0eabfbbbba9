// Script-tag entry: defines window.Kloudless.auth as soon as the script has run, plus the
// original's window.Kloudless.{apiVersion, baseUrl} and deprecated v1.0 aliases.
// It names `globalThis` (the window, in a browser) so that importing it under Node, as
// server-side rendering may, touches no browser global.
import auth from './api.js';

const K = (globalThis.Kloudless = globalThis.Kloudless || {});

const scriptAuth = {
  ...auth,
  authenticator(element, options, callback) {
    // Backward compatible: a page-set window.Kloudless.baseUrl overrides the global baseUrl.
    if (K.baseUrl && K.baseUrl !== auth.getGlobalOptions().baseUrl) {
      auth.setGlobalOptions({ baseUrl: K.baseUrl });
    }
    return auth.authenticator(element, options, callback);
  },
  setGlobalOptions(options = {}) {
    auth.setGlobalOptions(options);
    if (options && options.baseUrl) K.baseUrl = options.baseUrl;
  },
};

['stop', 'authenticator'].forEach((key) => {
  // No spread (see api.js): at most the three arguments of authenticator().
  K[key] = (a, b, c) => {
    console.log(`[WARN] The method window.Kloudless.${key}() is deprecated since v1.1.`
      + ` Please use window.Kloudless.auth.${key}() instead.`);
    return scriptAuth[key](a, b, c);
  };
});
K.apiVersion = auth.apiVersion;
K.baseUrl = auth.getGlobalOptions().baseUrl;
K.auth = scriptAuth;
