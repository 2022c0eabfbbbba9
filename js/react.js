// React bindings, as the original's `@kloudless/authenticator/react`: `AuthButton` and
// `createAuthButton(Component)`, plus a `useAuthenticator(options)` hook. A mounted component
// owns its authenticator; unmounting releases it (a pending flow ends with no callback).
import { createElement, forwardRef, useCallback, useEffect, useRef, useState } from 'react';
import { launcher } from './launcher.js';

/** Keeps `onResult` current; returns a stable launcher, released on unmount. */
function useLauncher(onResult) {
  const latest = useRef(onResult);
  latest.current = onResult;
  const own = useRef(null);
  if (!own.current) own.current = launcher((result) => latest.current(result));
  useEffect(() => own.current.release, []);
  return own.current;
}

const idle = { result: null, error: null, pending: false };

/**
 * `{ launch, result, error, pending }`: `launch()` (inside a click) opens the pop-up with
 * `options`; the outcome lands in `result` (success) or `error` (failure).
 */
export function useAuthenticator(options) {
  const [state, setState] = useState(idle);
  const own = useLauncher((result) => {
    // The state shows the latest flow: the end of one it replaced is not shown.
    if (!own.pending()) setState(result.error ? { ...idle, error: result } : { ...idle, result });
  });
  const current = useRef(options);
  current.current = options;
  const launch = useCallback(() => {
    if (own.launch(current.current)) setState({ ...idle, pending: true });
  }, [own]);
  return { launch, ...state };
}

/**
 * Wraps `Component` (which must call its `onClick` prop) into one that launches the pop-up on
 * click. Props: `options`, `onSuccess(result)`, `onError(result)`, `onClick(...args)`; any
 * other prop (and a ref) goes to `Component`.
 */
export function createAuthButton(Component) {
  const Wrapper = forwardRef(function AuthButtonWrapper({ options, onSuccess, onError, onClick, ...rest }, ref) {
    const own = useLauncher((result) => (result.error ? onError : onSuccess)?.(result));
    const click = (...args) => {
      onClick?.(...args);
      own.launch(options);
    };
    return createElement(Component, { ...rest, ref, onClick: click });
  });
  Wrapper.displayName = `createAuthButton(${Component.displayName || Component.name || 'Component'})`;
  return Wrapper;
}

/** The button `AuthButton` renders: `title` (default 'Connect Account'), `className`, `disabled`. */
const BaseButton = forwardRef(function BaseButton(
  { title = 'Connect Account', className = '', disabled = false, onClick, children, ...rest }, ref) {
  return createElement('button',
    { ...rest, ref, className, type: 'button', disabled, onClick: disabled ? undefined : onClick },
    children ?? title);
});

/** A `<button>` that launches the pop-up. */
export const AuthButton = createAuthButton(BaseButton);

export default { AuthButton, createAuthButton, useAuthenticator };
