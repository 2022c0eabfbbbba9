// A real OpenID Connect provider for the broker's tests: npm `oidc-provider` on 127.0.0.1, with
// its development login and consent pages, PKCE required for every client, token revocation
// (RFC 7009) and introspection (RFC 7662) on, and any login accepted (the account id is the login typed: its email is
// `<login>@upstream.test`). It issues a refresh token when `offline_access` is asked for with
// `prompt=consent` (oidc-provider's rule).
// Test switches (options of startOidc, changed later with `set`):
// - `coop`: its pages send Cross-Origin-Opener-Policy: same-origin (cuts a pop-up from its opener);
// - `slowTokenMs`: the token endpoint answers that much later;
// - `accessTokenTtl`: access tokens' lifetime in seconds (default 3600);
// - `rotateRefreshToken`: each refresh grant consumes the refresh token and issues a new one
//   (oidc-provider then treats a consumed one used again as theft and revokes the whole grant);
//   default: oidc-provider's own rule (rotate once 70% of its lifetime has passed);
// - `omitRefreshToken`: refresh replies leave `refresh_token` out (as some providers do);
// - `advertiseIss`: its discovery document says `authorization_response_iss_parameter_supported`
//   (RFC 9207; default true, as oidc-provider does). Its authorization responses carry `iss`
//   either way (oidc-provider 9 always sends it: what was its `features.issAuthResp`);
// - `iss`: replaces the `iss` of its authorization responses (`null`: leaves it out).
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

/**
 * Starts the provider with `clients` (`{ client_id, client_secret, redirect_uri }`, or
 * `redirect_uris`: a list) and the
 * switches above; resolves to `{ issuer, tokenRequests(), issuedTokens(), grants(),
 * refreshes(), revocations(), userinfoCalls(), dropAccessToken(token), set(switches), stop() }`:
 * `issuedTokens()` every token its token endpoint gave out; `grants()` every token request as
 * `{ grant_type, account, status, error, access_token, refresh_token, at }` (the reply's tokens
 * before `omitRefreshToken` strips one; `at`: when, in ms); `refreshes()` the refresh-token grants asked for
 * (answered or refused); `revocations()` the revocation requests (`{ token, token_type_hint }`);
 * `userinfoCalls()` the calls to its userinfo endpoint `/me`; `dropAccessToken(token)` forgets
 * one access token only, leaving its grant and refresh token working (its revocation endpoint
 * would revoke the whole grant).
 */
export async function startOidc({
  clients, coop = false, slowTokenMs = 0, accessTokenTtl = 3600, rotateRefreshToken, omitRefreshToken = false,
  advertiseIss = true, iss,
}) {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const switches = { coop, slowTokenMs, accessTokenTtl, rotateRefreshToken, omitRefreshToken, advertiseIss, iss };
  let tokenRequests = 0;
  let userinfoCalls = 0;
  const issued = [];
  const grants = [];
  const revocations = [];
  const provider = new Provider(issuer, {
    clients: clients.map(({ client_id, client_secret, redirect_uri, redirect_uris = [redirect_uri] }) => ({
      client_id,
      client_secret,
      redirect_uris,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      // OpenID's registration default, and the one the server picks from this provider's discovery
      // document (which lists client_secret_basic); oidc-provider refuses any other method.
      token_endpoint_auth_method: 'client_secret_basic',
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
    features: { devInteractions: { enabled: true }, revocation: { enabled: true }, introspection: { enabled: true } },
    ttl: { AccessToken: () => switches.accessTokenTtl },
    ...(rotateRefreshToken === undefined ? {} : { rotateRefreshToken: () => switches.rotateRefreshToken }),
    cookies: { keys: ['e2e-only-cookie-key'] },
  });
  provider.use(async (ctx, next) => {
    if (ctx.path === '/token') {
      tokenRequests += 1;
      if (switches.slowTokenMs) await new Promise((resolve) => setTimeout(resolve, switches.slowTokenMs));
    }
    if (ctx.path === '/me') userinfoCalls += 1;
    await next();
    if (ctx.path === '/token/revocation') {
      const { token, token_type_hint } = ctx.oidc?.params ?? {};
      revocations.push({ token, token_type_hint });
    }
    if (ctx.path === '/token') {
      const body = ctx.body && typeof ctx.body === 'object' ? ctx.body : {};
      grants.push({
        grant_type: ctx.oidc?.params?.grant_type,
        account: ctx.oidc?.entities?.Account?.accountId,
        status: ctx.status,
        error: body.error,
        access_token: body.access_token,
        refresh_token: body.refresh_token,
        at: Date.now(),
      });
      for (const key of ['access_token', 'refresh_token', 'id_token']) if (body[key]) issued.push(body[key]);
      if (switches.omitRefreshToken && ctx.oidc?.params?.grant_type === 'refresh_token') delete body.refresh_token;
    }
    if (!switches.advertiseIss && ctx.path === '/.well-known/openid-configuration') {
      delete ctx.body.authorization_response_iss_parameter_supported;
    }
    const location = ctx.response.get('location');
    if (switches.iss !== undefined && location && new URL(location, issuer).searchParams.has('iss')) {
      const url = new URL(location, issuer);
      if (switches.iss === null) url.searchParams.delete('iss'); else url.searchParams.set('iss', switches.iss);
      ctx.set('location', url.href);
    }
    if (switches.coop && ctx.path.startsWith('/interaction')) ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
  });
  server.on('request', provider.callback());
  return {
    issuer,
    tokenRequests: () => tokenRequests,
    issuedTokens: () => [...issued],
    grants: () => grants.map((grant) => ({ ...grant })),
    refreshes: () => grants.filter((grant) => grant.grant_type === 'refresh_token').length,
    revocations: () => revocations.map((revocation) => ({ ...revocation })),
    userinfoCalls: () => userinfoCalls,
    dropAccessToken: async (token) => {
      const found = await provider.AccessToken.find(token);
      if (!found) throw new Error('no such access token at the provider');
      await found.destroy();
    },
    set: (changes) => Object.assign(switches, changes),
    stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}
