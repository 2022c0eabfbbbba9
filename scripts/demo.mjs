// `make demo`: the API server on 127.0.0.1:8080 with the demo's simulated services (offline) and
// an example OpenID provider (npm oidc-provider, started here on a free loopback port, any login
// accepted), so that a new user sees both a simulated connect and a real redirect to an
// upstream's sign-in and consent pages and back. Ctrl-C stops both.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { startOidc } from '../e2e/upstream.mjs';

const API = 'http://127.0.0.1:8080';
const client = { client_id: 'demo-broker', client_secret: 'demo-only-secret', redirect_uri: `${API}/v1/oauth/callback/example_oidc` };
const oidc = await startOidc({ clients: [client] });
const demoServices = ['box', 'dropbox', 'gdrive', 'salesforce', 'hubspot', 'google_calendar', 'outlook_calendar'];
const config = `public_url = "${API}"
allow_private_upstreams = true  # the example provider runs on this machine

[[apps]]
client_id = "demo"
trusted_domains = ["localhost:8080", "127.0.0.1:8080", "localhost:8000", "localhost:5173", "localhost:4173"]
return_urls = ["http://localhost:8080/"]

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
const server = spawn('target/debug/authenticator-server', ['--config', 'data/demo.toml', ...process.argv.slice(2)],
  { stdio: 'inherit' });
const stop = () => server.kill('SIGINT');
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
server.on('exit', (code) => {
  oidc.stop();
  process.exit(code ?? 0);
});
