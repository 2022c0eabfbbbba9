// A real OpenID Connect provider for the broker's tests: npm `oidc-provider` on 127.0.0.1, with
// its development login and consent pages, PKCE required for every client, and any login
// accepted (the account id is the login typed: its email is `<login>@upstream.test`).
// Test switches: `coop` (its pages send Cross-Origin-Opener-Policy: same-origin, which cuts a
// pop-up from its opener) and `slowTokenMs` (the token endpoint answers that much later).
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

/**
 * Starts the provider with `clients` (`{ client_id, client_secret, redirect_uri }`); resolves to
 * `{ issuer, tokenRequests(), issuedTokens(), set({ coop, slowTokenMs }), stop() }` (`issuedTokens()`:
 * every token its token endpoint gave out).
 */
export async function startOidc({ clients, coop = false, slowTokenMs = 0 }) {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const switches = { coop, slowTokenMs };
  let tokenRequests = 0;
  const issued = [];
  const provider = new Provider(issuer, {
    clients: clients.map(({ client_id, client_secret, redirect_uri }) => ({
      client_id,
      client_secret,
      redirect_uris: [redirect_uri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
    })),
    pkce: { required: () => true },
    scopes: ['openid', 'email', 'profile', 'offline_access'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'preferred_username'] },
    findAccount: async (ctx, id) => ({
      accountId: id,
      claims: async () => ({
        sub: id, email: `${id}@upstream.test`, email_verified: true, name: `User ${id}`, preferred_username: id,
      }),
    }),
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['e2e-only-cookie-key'] },
  });
  provider.use(async (ctx, next) => {
    if (ctx.path === '/token') {
      tokenRequests += 1;
      if (switches.slowTokenMs) await new Promise((resolve) => setTimeout(resolve, switches.slowTokenMs));
    }
    await next();
    if (ctx.path === '/token' && ctx.body && typeof ctx.body === 'object') {
      for (const key of ['access_token', 'refresh_token', 'id_token']) if (ctx.body[key]) issued.push(ctx.body[key]);
    }
    if (switches.coop && ctx.path.startsWith('/interaction')) ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
  });
  server.on('request', provider.callback());
  return {
    issuer,
    tokenRequests: () => tokenRequests,
    issuedTokens: () => [...issued],
    set: (changes) => Object.assign(switches, changes),
    stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}
