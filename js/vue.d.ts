// Types of `kloudless-authenticator/vue`.
import type { Component, DefineComponent, MaybeRefOrGetter, Ref, ShallowRef } from 'vue';
import type { Options, SuccessResult, ErrorResult } from './index.js';

export type { Options, SuccessResult, ErrorResult, Result, ErrorCode, SetupErrorCode, OAuthErrorCode, Account } from './index.js';

/** The props a wrapped button has: `options` (required). */
export interface AuthButtonProps {
  /** The pop-up's options; `client_id` is required. */
  options: Options;
}

/** Its events: `click` (before the pop-up opens), `success`, `error`. */
export type AuthButtonEmits = {
  click: (...args: any[]) => void;
  success: (result: SuccessResult) => void;
  error: (result: ErrorResult) => void;
};

/** A component with the `options` prop and the `click`/`success`/`error` events. */
export type AuthButtonComponent = DefineComponent<AuthButtonProps, {}, {}, {}, {}, {}, {}, AuthButtonEmits>;

/** Wraps `Component` (default: a `<button>` with a `title` prop) into one that launches the pop-up on click. */
export function createAuthButton(Component?: Component): AuthButtonComponent;

/** A `<button>` that launches the pop-up; attributes `title`, `class`, `style`, `disabled`. */
export const AuthButton: AuthButtonComponent;
export default AuthButton;

/** What `useAuthenticator` returns. */
export interface AuthenticatorState {
  /** Opens the pop-up (call it inside a click); focuses it while a flow is pending. */
  launch: () => void;
  /** The last successful result, until the next launch. */
  result: ShallowRef<SuccessResult | null>;
  /** The last failure, until the next launch. */
  error: ShallowRef<ErrorResult | null>;
  /** Whether a flow is under way. */
  pending: Ref<boolean>;
}

/** An authenticator owned by the current component (or effect scope), released when it is disposed. */
export function useAuthenticator(options: MaybeRefOrGetter<Options>): AuthenticatorState;
