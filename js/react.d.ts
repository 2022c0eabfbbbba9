// Types of `kloudless-authenticator/react`.
import type { ComponentType, ForwardRefExoticComponent, ButtonHTMLAttributes, RefAttributes } from 'react';
import type { Options, SuccessResult, ErrorResult } from './index.js';

export type { Options, SuccessResult, ErrorResult, Result, ErrorCode, SetupErrorCode, OAuthErrorCode, Account } from './index.js';

/** The props `createAuthButton` adds; every other prop goes to the wrapped component. */
export interface AuthProps {
  /** The pop-up's options; `client_id` is required. */
  options: Options;
  /** Called with the result of a successful flow. */
  onSuccess: (result: SuccessResult) => void;
  /** Called with the result of a failed flow (`access_denied`, `popup_closed`, …). */
  onError?: (result: ErrorResult) => void;
  /** Called with the wrapped component's click arguments, before the pop-up opens. */
  onClick?: (...args: any[]) => void;
}

/** The wrapped component must call its `onClick` prop to launch the pop-up. */
export function createAuthButton<P extends { onClick?: (...args: any[]) => void }>(
  Component: ComponentType<P>,
): ForwardRefExoticComponent<Omit<P, 'onClick' | keyof AuthProps> & AuthProps & RefAttributes<unknown>>;

/** The props of `AuthButton`'s `<button>`, besides the `AuthProps`. */
export interface ButtonProps extends Omit<ButtonHTMLAttributes<HTMLButtonElement>, 'onClick' | 'onError' | 'title'> {
  /** The button's text; defaults to `'Connect Account'`. */
  title?: string;
}

/** A `<button>` that launches the pop-up on click. */
export const AuthButton: ForwardRefExoticComponent<ButtonProps & AuthProps & RefAttributes<HTMLButtonElement>>;

/** What `useAuthenticator` returns. */
export interface AuthenticatorState {
  /** Opens the pop-up (call it inside a click); focuses it while a flow is pending. */
  launch: () => void;
  /** The last successful result, until the next launch. */
  result: SuccessResult | null;
  /** The last failure, until the next launch. */
  error: ErrorResult | null;
  /** Whether a flow is under way. */
  pending: boolean;
}

/** An authenticator owned by the calling component, released when it unmounts. */
export function useAuthenticator(options: Options): AuthenticatorState;

declare const react: {
  AuthButton: typeof AuthButton;
  createAuthButton: typeof createAuthButton;
  useAuthenticator: typeof useAuthenticator;
};
export default react;
