// The page a pop-up comes back to. When an identity provider's Cross-Origin-Opener-Policy has
// cut the pop-up's opener, the API server's result page cannot post the result to the page that
// launched the flow. It takes the pop-up back to that page's URL instead (on the app's trusted
// origin, checked by the server), with the result message in the URL fragment, which no server
// sees. Loaded there, this library hands the message to the waiting page on the same origin and
// closes the pop-up. It decides nothing: the waiting page's core checks the message as it checks
// a posted one (request id, state, then the token with the server). The names are those of
// src/progress.rs (RETURN_FRAGMENT, RETURN_CHANNEL).
const FRAGMENT = '#kloudless-result=';
const CHANNEL = 'kloudless-authenticator';

/**
 * If this page is a pop-up brought back with a result: removes the result from the address bar,
 * hands it over (a BroadcastChannel, or a storage event where there is none) and closes the
 * window. Reads only `location` otherwise, so it is safe to run on import, under Node too.
 */
export function handOverReturnedResult() {
  const here = globalThis.location;
  if (!here || typeof here.hash !== 'string' || !here.hash.startsWith(FRAGMENT)) return;
  let message;
  try {
    message = decodeURIComponent(here.hash.slice(FRAGMENT.length));
    history.replaceState(history.state, '', here.pathname + here.search);
    if (typeof BroadcastChannel === 'function') {
      new BroadcastChannel(CHANNEL).postMessage(message);
    } else {
      localStorage.setItem(CHANNEL, message);
      localStorage.removeItem(CHANNEL);
    }
  } catch (error) {
    console.error('[Kloudless] The result the pop-up brought back could not be handed over:', error);
    return;
  }
  window.close();
}
