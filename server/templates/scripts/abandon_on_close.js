(function(){var r=document.body.getAttribute('data-request'),moving=false;
document.addEventListener('submit',function(){moving=true});addEventListener('pagehide',function(e){
if(!moving&&!e.persisted)navigator.sendBeacon({{ abandon_path }},r)})})();
