// Types of the ES module (and of window.Kloudless.auth in the script-tag build).

/** The codes of failures the library reports; a server's own error (e.g. `access_denied`) passes through. */
export type ErrorCode =
  | 'popup_blocked'
  | 'popup_closed'
  | 'invalid_state'
  | 'token_verification_failed'
  | 'client_id_mismatch'
  | 'account_retrieval_failed'
  | 'network_error';

/** The pop-up's query parameters. `client_id` is required; other keys pass through. */
export interface Options {
  client_id?: string;
  /** Legacy v0 app id, accepted as the client id. */
  app_id?: string;
  /** Space-separated string or an array (joined with spaces). */
  scope?: string | string[];
  /** `raw: {k: v}` is sent as `raw[k]=v`. */
  raw?: Record<string, string | number | boolean>;
  [parameter: string]: unknown;
}

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

/** What the callback gets on failure: never an access token. */
export interface ErrorResult {
  error: ErrorCode | (string & {});
  error_description?: string;
  state?: string;
  access_token?: undefined;
}

export type Result = SuccessResult | ErrorResult;
export type Callback = (result: Result) => void;

/** The object `authenticator()` returns. */
export interface Authenticator {
  /** Opens the pop-up; call it inside a user gesture. Focuses the pop-up of a pending flow instead. */
  launch(): void;
}

/** An Element, or a jQuery object (its first node). */
export type ElementLike = Element | { jquery: string; [index: number]: Element | undefined };

export interface GlobalOptions {
  baseUrl: string;
  debug: boolean;
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
