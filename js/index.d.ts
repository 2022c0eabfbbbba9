// Types of the ES module (and of window.Kloudless.auth in the script-tag build).

/** The codes of failures the library itself reports. */
export type ErrorCode =
  | 'popup_blocked'
  | 'popup_closed'
  | 'invalid_state'
  | 'token_verification_failed'
  | 'client_id_mismatch'
  | 'account_retrieval_failed'
  | 'network_error'
  | 'timeout'
  | 'cancelled';

/** The pop-up's query parameters other than the app's id; other keys pass through. */
export interface CommonOptions {
  /** Space-separated string or an array (joined with spaces). */
  scope?: string | string[];
  /**
   * A single-use sign-in token that the app's backend minted for this user with its API key
   * (`POST /v1/sign_in_tokens`, valid 5 minutes, one pop-up): required by an app with
   * `require_sign_in_token`. Anything but a token string (1 to 256 of `A-Za-z0-9-_.~`) throws.
   */
  sign_in_token?: string;
  /**
   * The absolute URL of the app's return page (one of its registered `return_urls`, its query
   * aside), where a pop-up whose opener was cut brings back a one-time code for the result; the
   * page must load this library. Default: the launching page's URL without its fragment. Kept by
   * the library, not sent as such. Anything but a non-empty string throws.
   */
  return_url?: string;
  /**
   * Extension (not in the original library): the language of the pop-up's pages, a BCP 47 tag
   * such as `'de-DE'` or `'ja'`. It wins over the browser's `Accept-Language`; a tag the server
   * has no language for, or a malformed one, is ignored (English is the last fallback). The
   * server has English, German, French, Spanish and Japanese. Sent on as given.
   */
  locale?: string;
  /** `raw: {k: v}` is sent as `raw[k]=v`. */
  raw?: Record<string, string | number | boolean>;
  /** Other objects (e.g. `extra_data`, `custom_properties`) are sent as JSON. */
  [parameter: string]: unknown;
}

/** The pop-up's query parameters: `client_id` (or the legacy v0 `app_id`) is required. */
export type Options = CommonOptions & ({ client_id: string } | { app_id: string });

/** The connected account's metadata, as the API server returns it. */
export interface Account {
  id: number | string;
  service: string;
  [field: string]: unknown;
}

/** What the callback gets on success. */
export interface SuccessResult {
  access_token: string;
  token_type: 'Bearer';
  scope: string;
  state: string;
  account: Account;
  error?: undefined;
}

/** The OAuth 2.0 error codes (RFC 6749 §4.2.2.1) a server's pop-up reports, passed through unchanged. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'unauthorized_client'
  | 'access_denied'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'server_error'
  | 'temporarily_unavailable';

/**
 * Setup errors: the server's pop-up refused the request before any flow started, and the
 * callback gets them at once (the pop-up closes); `error_description` names the fix.
 * `invalid_client`: no app has this `client_id` (check it, and `baseUrl`); `untrusted_origin`:
 * add the page's origin to the app's Trusted Domains; `invalid_return_to`: the page (or the
 * `return_url` option) is not a registered return page of the app; `sign_in_token_required`:
 * the app requires the `sign_in_token` option (`invalid_scope`, `invalid_request` and
 * `unsupported_response_type` are in {@link OAuthErrorCode}).
 */
export type SetupErrorCode =
  | 'invalid_client'
  | 'untrusted_origin'
  | 'invalid_return_to'
  | 'sign_in_token_required';

/** What the callback gets on failure: never an access token. */
export interface ErrorResult {
  /** The library's code, or the server's OAuth error (a literal union, so `if (result.error)` narrows). */
  error: ErrorCode | SetupErrorCode | OAuthErrorCode;
  error_description?: string;
  state?: string;
  access_token?: undefined;
}

export type Result = SuccessResult | ErrorResult;
export type Callback = (result: Result) => void;

/** The object `authenticator()` returns. */
export interface Authenticator {
  /**
   * Opens the pop-up; call it inside a user gesture. Returns `true` when a new flow started (its
   * callback will come), `false` when it focused the pending flow's pop-up instead.
   */
  launch(): boolean;
  /** Ends a pending flow with one `cancelled` callback and closes its pop-up; nothing otherwise. */
  cancel(): void;
  /**
   * Releases this authenticator: a pending flow ends with no callback (its pop-up is closed) and a
   * click on its element no longer launches. `launch()` throws afterwards.
   */
  destroy(): void;
}

/** An Element, or a jQuery object (its first node). */
export type ElementLike = Element | { jquery: string; [index: number]: Element | undefined };

export interface GlobalOptions {
  /** The API server; default `https://api.kloudless.com`. */
  baseUrl: string;
  /** Logs why messages are dropped, the pop-up URL. */
  debug: boolean;
  /** Milliseconds a request to the API server may take (`timeout` error); default 10000, 0 for no limit. */
  requestTimeout: number;
  /** Milliseconds a whole flow may take (`timeout` error); 0 (the default) for no limit. */
  flowTimeout: number;
}

export function authenticator(element: ElementLike | null | undefined, options: Options, callback: Callback): Authenticator;
export function authenticator(options: Options, callback: Callback): Authenticator;
export function stop(element: ElementLike): void;
export function setGlobalOptions(options: Partial<GlobalOptions>): void;
export function getGlobalOptions(): GlobalOptions;
export const apiVersion: 'v1';

declare const auth: {
  authenticator: typeof authenticator;
  stop: typeof stop;
  apiVersion: typeof apiVersion;
  getGlobalOptions: typeof getGlobalOptions;
  setGlobalOptions: typeof setGlobalOptions;
};
export default auth;
