// The part the React and Vue bindings share: a component's authenticator. A new flow gets a
// fresh authenticator made from the options of that moment; while a flow is pending, launching
// again focuses its pop-up. `release()` (on unmount) ends a pending flow with no callback.
import auth from './index.js';

/** A launcher that hands every result to `onResult(result)`. */
export function launcher(onResult) {
  let instance = null;
  let pending = false;
  const release = () => {
    instance?.destroy();
    instance = null;
    pending = false;
  };
  return {
    /**
     * Opens the pop-up with `options` (call it inside a click). Returns `true` when a new flow
     * started, `false` when a pending one was focused. Throws for bad options.
     */
    launch(options) {
      if (pending) {
        instance.launch();
        return false;
      }
      release();
      instance = auth.authenticator({ ...options }, (result) => {
        pending = false;
        onResult(result);
      });
      instance.launch();
      pending = true;
      return true;
    },
    release,
  };
}
