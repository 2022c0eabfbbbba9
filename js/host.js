// The wasm module's window on the browser (the `host` imports of src/web/host.rs): a table of
// the JS values the module holds by number, UTF-8 strings in its memory, and a few browser
// calls. Listeners, timers and requests call back into the module's `kl_*` exports.

/**
 * Instantiates the module from its bytes, synchronously. Returns `hold(value)`, which puts a
 * JS value in the table (for an export that takes it over), and `call(name, a, b, c)`, which
 * runs an export with up to three numbers and returns `{ result, given }`: what it returned,
 * and the string it handed over (`give`), if any.
 */
export function instantiate(bytes) {
  const values = [undefined]; // by handle; 0 is undefined
  const free = [];
  const encoder = new TextEncoder();
  // Keeps a leading U+FEFF: the module must see the text as the page gave it.
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  let wasm;
  let given;
  let message; // the message event being delivered

  // No import may throw: an exception would unwind the module's frames without running its
  // destructors (a RefCell left borrowed traps every later call). What may throw (page code:
  // a patched DOM method, a getter) runs inside `attempt`. Nothing here uses array
  // destructuring or spread, which a page can break by patching the array iterator.
  const attempt = (run, otherwise) => {
    try {
      return run();
    } catch (error) {
      return otherwise;
    }
  };
  const hold = (value) => {
    if (value === undefined) return 0;
    const handle = free.length ? free.pop() : values.length;
    values[handle] = value;
    return handle;
  };
  const bytesAt = (ptr, len) => new Uint8Array(wasm.memory.buffer, ptr, len);
  const read = (ptr, len) => decoder.decode(bytesAt(ptr, len));
  // A string in module memory, which the module takes over.
  const put = (text) => {
    const encoded = encoder.encode(text);
    const ptr = wasm.kl_alloc(encoded.length);
    bytesAt(ptr, encoded.length).set(encoded);
    return { ptr, len: encoded.length };
  };
  // Writes a string for the module into its two `out` slots (little-endian, as wasm memory
  // is); 1, or 0 when `make` throws.
  const out = (slots, make) => attempt(() => {
    const text = put(make());
    const view = new DataView(wasm.memory.buffer);
    view.setUint32(slots, text.ptr, true);
    view.setUint32(slots + 4, text.len, true);
    return 1;
  }, 0);
  // [key, 0, String(value)], [key, 1, items as String, JSON] or [key, 2, [key, String] pairs, JSON]
  // for each own enumerable property not null or undefined (see Options::parse).
  const entries = (object) => JSON.stringify(Object.keys(object).flatMap((key) => {
    const value = object[key];
    if (value == null) return [];
    if (Array.isArray(value)) return [[key, 1, Array.from(value, String), JSON.stringify(value)]];
    if (typeof value === 'object') {
      return [[key, 2, Object.keys(value).map((k) => [k, String(value[k])]), JSON.stringify(value)]];
    }
    return [[key, 0, String(value)]];
  }));
  // A listener on `target`, added: the handle that removes it (0 when adding it threw).
  const listen = (target, type, listener) => attempt(() => {
    target.addEventListener(type, listener);
    return hold(() => target.removeEventListener(type, listener));
  }, 0);
  const onMessage = (id) => (event) => {
    // Read once, before the module runs: it compares windows only, and runs no page code. Its
    // data is copied into module memory only when the module asks (`message_data`).
    const { data, origin, source } = event;
    if (typeof data !== 'string') return;
    const outer = message; // a page's callback may dispatch a message synchronously
    message = { data, source };
    try {
      const from = put(origin);
      wasm.kl_message(id, from.ptr, from.len);
    } finally {
      message = outer;
    }
  };

  const host = {
    release(handle) {
      if (handle) {
        values[handle] = undefined;
        free.push(handle);
      }
    },
    dup: (handle) => hold(values[handle]),
    kind: (handle) => attempt(() => {
      const value = values[handle];
      return (value ? 1 : 0) | (typeof value === 'object' && value !== null ? 2 : 0)
        | (typeof value === 'function' ? 4 : 0) | (typeof value === 'string' ? 8 : 0)
        | (typeof Element !== 'undefined' && value instanceof Element ? 16 : 0);
    }, 0),
    prop: (handle, ptr, len) => attempt(() => hold(values[handle][read(ptr, len)]), 0),
    number: (handle) => (typeof values[handle] === 'number' ? values[handle] : NaN),
    text: (handle, slots) => out(slots, () => String(values[handle])),
    entries: (handle, slots) => out(slots, () => entries(values[handle])),
    same: (a, b) => values[a] === values[b],
    random: (ptr, len) => attempt(() => crypto.getRandomValues(bytesAt(ptr, len)) && 1, 0),
    page_origin: (slots) => out(slots, () => `${window.location.protocol}//${window.location.host}`),
    page_url: (slots) => out(slots, () => {
      const url = new URL(window.location.href);
      url.hash = '';
      return url.href;
    }),
    url_origin: (ptr, len, slots) => out(slots, () => {
      const url = new URL(read(ptr, len));
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw url;
      return url.origin;
    }),
    screen: (height) => attempt(() => (height ? screen.height : screen.width) | 0, 0),
    open: (url, urlLen, name, nameLen, features, featuresLen) => attempt(() => hold(
      window.open(read(url, urlLen), read(name, nameLen), read(features, featuresLen)) || undefined), 0),
    focus: (handle) => attempt(() => values[handle].focus()),
    closed: (handle) => attempt(() => values[handle].closed === true, false),
    close: (handle) => attempt(() => values[handle].close()),
    relay: (ptr, len) => attempt(() => {
      const iframe = document.createElement('iframe');
      iframe.src = read(ptr, len);
      iframe.style.display = 'none';
      document.body.appendChild(iframe);
      return hold(iframe);
    }, 0),
    content_window: (handle) => attempt(() => hold(values[handle].contentWindow || undefined), 0),
    remove: (handle) => attempt(() => values[handle].remove()),
    listen: (handle, id) => (handle
      ? listen(values[handle], 'click', () => wasm.kl_fire(id))
      : listen(window, 'message', onMessage(id))),
    // BroadcastChannel messages come from this origin only; so do storage events, the
    // fallback where there is no BroadcastChannel (they carry the string as `newValue`).
    listen_returns: (ptr, len, id) => attempt(() => {
      const name = read(ptr, len);
      const deliver = onMessage(id);
      if (typeof BroadcastChannel !== 'function') {
        return listen(window, 'storage', (event) => event.key === name && event.newValue !== null
          && deliver({ data: event.newValue, origin: window.location.origin, source: null }));
      }
      const channel = new BroadcastChannel(name);
      const listening = listen(channel, 'message', deliver);
      return hold(() => {
        host.undo(listening);
        channel.close();
      });
    }, 0),
    from: (handle) => message !== undefined && message.source === values[handle],
    message_data: (max, slots) => (message !== undefined && message.data.length <= max
      ? out(slots, () => message.data) : 0),
    timer: (id, ms, repeat) => attempt(() => {
      const timer = (repeat ? setInterval : setTimeout)(() => wasm.kl_fire(id), ms);
      return hold(() => (repeat ? clearInterval : clearTimeout)(timer));
    }, 0),
    later: (id) => attempt(() => setTimeout(() => wasm.kl_fire(id), 0)),
    request(url, urlLen, value, valueLen, method, id) {
      // `live` (not the signal's `aborted`, which a page can patch) keeps a reply from reaching
      // the module after the request was cancelled.
      let live = true;
      let abort;
      const reply = (status, body) => {
        if (live) {
          live = false;
          const text = put(body);
          wasm.kl_reply(id, status, text.ptr, text.len);
        }
      };
      const failed = () => reply(0, '');
      try {
        abort = new AbortController();
        const text = read(value, valueLen);
        const post = method === 1; // 0: GET, 1: POST, 2: OPTIONS (src/web/host.rs)
        const headers = post
          ? { 'Content-Type': 'application/x-www-form-urlencoded' }
          : { Authorization: `Bearer ${text}`, 'X-Kloudless-Source': 'authenticator' };
        fetch(read(url, urlLen), { method: post ? 'POST' : method ? 'OPTIONS' : 'GET', body: post ? text : null,
          headers, mode: 'cors', credentials: 'omit', signal: abort.signal })
          .then((response) => response.text().then((body) => reply(response.status, body), failed), failed);
      } catch (error) {
        attempt(() => Promise.resolve().then(failed));
      }
      return hold(() => {
        live = false;
        abort?.abort();
      });
    },
    undo(handle) {
      const undo = values[handle];
      host.release(handle);
      attempt(undo);
    },
    call(handle, ptr, len) {
      const callback = values[handle];
      try {
        callback(JSON.parse(read(ptr, len)));
      } catch (error) {
        attempt(() => console.error('[Kloudless] The authenticator callback threw:', error));
      }
    },
    log: (level, ptr, len, withData) => attempt(() => {
      const text = read(ptr, len);
      if (level) console.error(text);
      else if (withData) console.log(text, message && message.data);
      else console.log(text);
    }),
    give(ptr, len) {
      given = read(ptr, len);
    },
  };

  wasm = new WebAssembly.Instance(new WebAssembly.Module(bytes), { host }).exports;
  return {
    hold,
    call(name, a, b, c) {
      given = undefined;
      const result = wasm[name](a, b, c);
      return { result, given };
    },
  };
}
