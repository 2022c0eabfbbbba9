// The page a pop-up comes back to. When an identity provider's Cross-Origin-Opener-Policy has
// cut the pop-up's opener, the API server's result page cannot post the result to the page that
// launched the flow. It takes the pop-up to one of the app's registered return pages instead
// (checked by the server), with a one-time code in the URL fragment — never the result itself.
// Loaded there, this library hands the code to the waiting page on the same origin and closes
// the pop-up. It decides nothing: the waiting page redeems the code at the server for its own
// flow, and checks the message it gets as it checks a posted one (request id, state, then the
// token with the server). The names are the protocol crate's RETURN_FRAGMENT and RETURN_CHANNEL
// (protocol/tests/js_constants.rs fails when they differ).
const FRAGMENT = '#kloudless-result=';
const CHANNEL = 'kloudless-authenticator';

/**
 * If this page is a pop-up brought back with a code: removes it from the address bar, hands it
 * over (a BroadcastChannel, or a storage event where there is none) and closes the window.
 * Reads only `location` otherwise, so it is safe to run on import, under Node too.
 */
export function handOverReturnedResult() {
  const here = globalThis.location;
  if (!here || typeof here.hash !== 'string' || !here.hash.startsWith(FRAGMENT)) return;
  let code;
  try {
    code = decodeURIComponent(here.hash.slice(FRAGMENT.length));
    history.replaceState(history.state, '', here.pathname + here.search);
    if (typeof BroadcastChannel === 'function') {
      new BroadcastChannel(CHANNEL).postMessage(code);
    } else {
      localStorage.setItem(CHANNEL, code);
      localStorage.removeItem(CHANNEL);
    }
  } catch (error) {
    console.error('[Kloudless] The code the pop-up brought back could not be handed over:', error);
    return;
  }
  window.close();
}
