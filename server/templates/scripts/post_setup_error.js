(function(){var o=window.opener;if(o)o.postMessage(JSON.parse(document.getElementById('kloudless-setup-error').textContent),'*')})();
