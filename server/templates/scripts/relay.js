(function () {
  var ns = {{ prefix }}, opened = null, target = null;
  window.addEventListener('message', function (e) {
    if (typeof e.data !== 'string' || e.data.indexOf(ns) !== 0) return;
    var msg;
    try { msg = JSON.parse(e.data.slice(ns.length)); } catch (err) { return; }
    if (!msg || typeof msg !== 'object') return;
    if (e.source === window.parent && e.source !== window) {
      if (msg.type === 'prepareToOpenAuthenticator' && typeof msg.url === 'string') {
        var url;
        try { url = new URL(msg.url); } catch (err) { return; }
        if (url.origin !== location.origin) return;
        if (url.pathname !== {{ popup_path }} && url.pathname !== {{ popup_path }} + '/') return;
        if (url.searchParams.get('origin') !== e.origin) return;
        target = e.origin;
        opened = window.open(url.href, {{ window_name }}, typeof msg.params === 'string' ? msg.params : '');
      } else if (msg.type === 'close' && opened) {
        opened.close();
      }
    } else if (opened && e.source === opened && e.origin === location.origin && target) {
      window.parent.postMessage(e.data, target);
    }
  });
})();
