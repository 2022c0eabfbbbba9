// The demo: one "Connect Account" button wired with the script-tag build.
(function () {
  'use strict';
  var auth = window.Kloudless.auth;
  var here = window.location;
  // Use the other loopback name for the API so that page and API are different origins.
  var swap = { localhost: '127.0.0.1', '127.0.0.1': 'localhost' };
  var apiHost = swap[here.hostname] || here.hostname;
  var baseUrl = here.protocol + '//' + apiHost + (here.port ? ':' + here.port : '');
  var button = document.getElementById('connect');
  var scope = document.getElementById('scope');
  var result = document.getElementById('result');

  function log(text) {
    var item = document.createElement('li');
    item.textContent = new Date().toLocaleTimeString() + ' ' + text;
    document.getElementById('log').appendChild(item);
  }

  function show(data) {
    result.dataset.state = data.error ? 'error' : 'success';
    result.textContent = JSON.stringify(data, null, 2);
    if (data.error) {
      log('Error: ' + data.error + (data.error_description ? ' (' + data.error_description + ')' : ''));
    } else {
      log('Connected ' + data.account.service + ' account #' + data.account.id + ' (' + data.account.account + ')');
    }
  }

  function bind() {
    auth.authenticator(button, { client_id: 'demo', scope: scope.value.trim() || undefined }, show);
    log('Authenticator ready, scope "' + (scope.value.trim() || 'any') + '"');
  }

  document.getElementById('page-origin').textContent = here.origin;
  document.getElementById('base-url').textContent = baseUrl;
  auth.setGlobalOptions({ baseUrl: baseUrl });
  button.addEventListener('click', function () { log('Clicked: pop-up opened'); });
  scope.addEventListener('change', bind);
  bind();
}());
