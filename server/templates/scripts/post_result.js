(function(){var r=JSON.parse(document.getElementById('kloudless-result').textContent);
var m=r.message,o=window.opener;
if(!o){if(r.return_to)location.replace(r.return_to+r.fragment+r.code);
else document.getElementById('kloudless-unreachable').hidden=false;return}
var same=false;try{same=o.location.origin===location.origin}catch(e){}o.postMessage(m,same?location.origin:r.origin)})();
