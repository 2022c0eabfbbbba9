// `make demo`: the API server on 127.0.0.1:8080 with the demo's simulated services (offline) and
// an example OpenID provider (npm oidc-provider, started here on a free loopback port, any login
// accepted), so that a new user sees both a simulated connect and a real redirect to an
// upstream's sign-in and consent pages and back; and a webhook receiver (on another free
// loopback port) that verifies each event the server sends the demo app with npm
// `standardwebhooks` and prints it. Ctrl-C stops them all.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { startOidc } from '../e2e/upstream.mjs';

const API = 'http://127.0.0.1:8080';
const client = { client_id: 'demo-broker', client_secret: 'demo-only-secret', redirect_uri: `${API}/v1/oauth/callback/example_oidc` };
const oidc = await startOidc({ clients: [client] });
// The README's receiver ("Webhooks"), printing each verified event.
const secret = `whsec_${randomBytes(32).toString('base64')}`;
const webhook = new Webhook(secret);
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => { body += chunk; });
  req.on('end', () => {
    let event;
    try { event = webhook.verify(body, req.headers); } catch { return res.writeHead(400).end(); }
    const { type, account, metadata, reason } = event;
    console.log(`webhook (signature verified): ${type} account ${account} (${metadata.service}: ${metadata.account})${reason ? `: ${reason}` : ''}`);
    res.writeHead(204).end();
  });
});
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const demoServices = ['box', 'dropbox', 'gdrive', 'salesforce', 'hubspot', 'google_calendar', 'outlook_calendar'];
const config = `public_url = "${API}"
allow_private_upstreams = true  # the example provider runs on this machine

[[apps]]
client_id = "demo"
trusted_domains = ["localhost:8080", "127.0.0.1:8080", "localhost:8000", "localhost:5173", "localhost:4173"]
return_urls = ["http://localhost:8080/"]
webhook_url = "http://127.0.0.1:${receiver.address().port}/hook"
webhook_secret = "${secret}"

${demoServices.map((id) => `[[providers]]\nid = "${id}"\nkind = "demo"\n`).join('\n')}
[[providers]]
id = "example_oidc"
kind = "oidc"
name = "Example OpenID provider"
category = "storage"
issuer = "${oidc.issuer}"
client_id = "${client.client_id}"
client_secret = "${client.client_secret}"
`;
mkdirSync('data', { recursive: true });
writeFileSync('data/demo.toml', config);
console.log(`Example OpenID provider: ${oidc.issuer} (any login and password)`);
console.log(`Webhook receiver: http://127.0.0.1:${receiver.address().port}/hook (events are printed here)`);
const server = spawn('target/debug/authenticator-server', ['--config', 'data/demo.toml', ...process.argv.slice(2)],
  { stdio: 'inherit' });
const stop = () => server.kill('SIGINT');
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
server.on('exit', (code) => {
  oidc.stop();
  receiver.close();
  process.exit(code ?? 0);
});
