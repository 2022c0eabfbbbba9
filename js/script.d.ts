// Types of `kloudless-authenticator/script`: importing it defines `window.Kloudless.auth`.
import type auth from './index.js';

declare global {
  /** What the script-tag build defines. */
  var Kloudless: {
    /** The API, as the default export of the ES module. */
    auth: typeof auth;
    /** `'v1'`. */
    apiVersion: typeof auth.apiVersion;
    /** A page-set value overrides the global `baseUrl`. */
    baseUrl: string;
    /** Deprecated since v1.1: use `Kloudless.auth.authenticator`. */
    authenticator: typeof auth.authenticator;
    /** Deprecated since v1.1: use `Kloudless.auth.stop`. */
    stop: typeof auth.stop;
  };
}
export {};
