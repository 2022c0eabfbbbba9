// Vue 3 bindings, as the original's `@kloudless/authenticator/vue`: `AuthButton` (also the
// default export) and `createAuthButton(Component)`, plus a `useAuthenticator(options)`
// composable. A mounted component owns its authenticator; unmounting releases it (a pending
// flow ends with no callback).
import { defineComponent, getCurrentScope, h, onScopeDispose, ref, shallowRef, toValue } from 'vue';
import { launcher } from './launcher.js';

/** A launcher released when the current component (or effect scope) is disposed. */
function scopedLauncher(onResult) {
  const own = launcher(onResult);
  if (getCurrentScope()) onScopeDispose(own.release);
  return own;
}

/**
 * `{ launch, result, error, pending }` (refs): `launch()` (inside a click) opens the pop-up with
 * `options` (an object, a ref or a getter); the outcome lands in `result` or `error`.
 */
export function useAuthenticator(options) {
  const result = shallowRef(null);
  const error = shallowRef(null);
  const pending = ref(false);
  const own = scopedLauncher((outcome) => {
    // The refs show the latest flow: the end of one it replaced is not shown.
    if (own.pending()) return;
    pending.value = false;
    (outcome.error ? error : result).value = outcome;
  });
  const launch = () => {
    if (own.launch(toValue(options))) {
      result.value = null;
      error.value = null;
      pending.value = true;
    }
  };
  return { launch, result, error, pending };
}

// Vue 3 renders disabled="false" as disabled; the original (Vue 2) README writes exactly that.
const isDisabled = (value) => value !== undefined && value !== false && value !== 'false';

/** The button `AuthButton` renders: prop `title` (default 'Connect Account'), attribute `disabled`. */
const DefaultButton = defineComponent({
  name: 'KloudlessDefaultButton',
  props: {
    title: { type: String, default: 'Connect Account' },
    disabled: { type: [Boolean, String], default: false },
  },
  setup(props, { slots }) {
    return () => h('button', { type: 'button', disabled: isDisabled(props.disabled) },
      slots.default ? slots.default() : props.title);
  },
});

/**
 * Wraps `Component` into one that launches the pop-up on click: prop `options`; events `click`,
 * `success`, `error`; other props, attributes, listeners and slots go to `Component`.
 */
export function createAuthButton(Component = DefaultButton) {
  return defineComponent({
    name: `createAuthButton(${Component.name || 'Component'})`,
    inheritAttrs: false,
    props: { options: { type: Object, required: true } },
    emits: ['click', 'success', 'error'],
    setup(props, { attrs, emit, slots }) {
      const own = scopedLauncher((result) => emit(result.error ? 'error' : 'success', result));
      const onClick = (...args) => {
        emit('click', ...args);
        own.launch(props.options);
      };
      return () => h(Component, { ...attrs, onClick }, slots);
    },
  });
}

/** A `<button>` that launches the pop-up. */
export const AuthButton = createAuthButton();

export default AuthButton;
