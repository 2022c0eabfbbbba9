// The part the React and Vue bindings share: a component's authenticator. A new flow gets a
// fresh authenticator made from the options of that moment; while a flow is pending, launching
// again focuses its pop-up (or, if the user closed it, ends that flow as popup_closed and starts
// another in the same authenticator). `release()` (on unmount) ends a pending flow with no callback.
import auth from './index.js';

/** A launcher that hands every result to `onResult(result)`. */
export function launcher(onResult) {
  let instance = null;
  let flows = 0; // started and not yet called back
  const release = () => {
    instance?.destroy();
    instance = null;
    flows = 0;
  };
  return {
    /**
     * Opens the pop-up with `options` (call it inside a click). Returns `true` when a new flow
     * started, `false` when a pending one was focused. Throws for bad options.
     */
    launch(options) {
      if (flows > 0) {
        const started = instance.launch();
        if (started) flows += 1;
        return started;
      }
      release();
      instance = auth.authenticator({ ...options }, (result) => {
        flows -= 1;
        onResult(result);
      });
      instance.launch();
      flows = 1;
      return true;
    },
    /** Whether a flow is under way. */
    pending: () => flows > 0,
    release,
  };
}
