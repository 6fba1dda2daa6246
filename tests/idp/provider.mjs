// A real OpenID Provider (oidc-provider) for the Compliance Ledger's tests.
//
//   node tests/idp/provider.mjs <config.json>
//
// tests/identity_provider.py writes the config file, starts this script and waits for the single
// line `ready <issuer>` on stdout. Everything lives in memory: a restart (how the tests rotate
// keys) forgets sessions, grants and refresh tokens, as a fresh provider would.
//
// The config (JSON):
//   port                 the issuer is http://127.0.0.1:<port>
//   jwks                 {"keys": [private JWKs]}; the first key of an alg signs with that alg
//   clients              oidc-provider client metadata, plus extra_claims (added to the client's
//                        client-credentials tokens) and token_ttl (their lifetime, default 600 s)
//   resources            [{indicator, scope, alg}]: RFC 8707 resource servers, JWT access tokens
//                        with aud = indicator; every other indicator is refused (invalid_target)
//   accounts             {"<id>": {claims}}; the dev login form's `login` field is the id
//   claims               scope -> claim names, put in ID tokens too
//   id_token_ttl, access_token_ttl, refresh_token_ttl   seconds
//   admin_token          bearer for POST /test-admin/accounts/<id>/disable
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider, { errors } from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${config.port}`;

// Two fields of a client are ours, not oidc-provider's: strip them before handing the client over.
const extraClaimsByClient = new Map();
const tokenTtlByClient = new Map();
const clients = (config.clients ?? []).map(({ extra_claims, token_ttl, ...metadata }) => {
  extraClaimsByClient.set(metadata.client_id, extra_claims ?? {});
  tokenTtlByClient.set(metadata.client_id, token_ttl ?? 600);
  return metadata;
});

const resources = new Map((config.resources ?? []).map((r) => [r.indicator, r]));
const accounts = config.accounts ?? {};
const disabled = new Set(); // filled by POST /test-admin/accounts/<id>/disable

function account(id) {
  return Object.hasOwn(accounts, id) && !disabled.has(id) ? accounts[id] : undefined;
}

const provider = new Provider(issuer, {
  clients,
  // A key_ops of ["sign"] (PyJWT's private RSA JWKs have it) would stop oidc-provider verifying
  // its own ID tokens (id_token_hint at logout): "use": "sig" is enough.
  jwks: { keys: config.jwks.keys.map(({ key_ops, ...key }) => key) },
  // Random per run: cookies are signed, and the tests never need them across restarts.
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  claims: config.claims ?? { openid: ['sub'] },
  // The ledger reads role and tenant from the ID token, so put the scopes' claims in it
  // (conforming providers would keep them for the userinfo endpoint only).
  conformIdTokenClaims: false,
  // ID tokens (and JWT access tokens without an alg of their own) are signed with the alg of the
  // first key, so a provider with only EC or OKP keys still works without per-client settings.
  clientDefaults: {
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: config.jwks.keys[0].alg ?? 'RS256',
  },
  pkce: { required: () => true }, // every code flow must use PKCE (S256 is the only method)
  ttl: {
    IdToken: config.id_token_ttl ?? 300,
    AccessToken: config.access_token_ttl ?? 300,
    RefreshToken: config.refresh_token_ttl ?? 3600,
    ClientCredentials: (ctx, token, client) => tokenTtlByClient.get(client.clientId) ?? 600,
    Interaction: 600,
    Session: 24 * 3600,
    Grant: 24 * 3600,
  },
  async findAccount(ctx, sub) {
    const claims = account(sub);
    if (!claims) return undefined; // unknown or disabled: no login, no refresh (invalid_grant)
    return { accountId: sub, claims: async () => ({ ...claims, sub }) };
  },
  // Every access token for a resource is a JWT carrying who it is for: a client's extra_claims
  // for client credentials, the account's claims (roles, tenant, ...) for a signed-in user.
  async extraTokenClaims(ctx, token) {
    if (token.kind === 'ClientCredentials') return extraClaimsByClient.get(token.clientId);
    if (token.accountId) {
      const { sub, ...claims } = account(token.accountId) ?? {};
      return claims;
    }
    return undefined;
  },
  // Refresh tokens for every client allowed the refresh_token grant, offline_access or not.
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  // No consent screen for the configured clients: grant whatever was asked for, so a browser's
  // way is login page -> back to the client (the documented use of loadExistingGrant).
  async loadExistingGrant(ctx) {
    const { oidc } = ctx;
    const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(oidc.client.clientId);
    const grant = (grantId && await oidc.provider.Grant.find(grantId))
      || new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId: oidc.session.accountId });
    if (oidc.requestParamOIDCScopes.size) grant.addOIDCScope(oidc.requestParamOIDCScopes);
    if (oidc.requestParamClaims.size) grant.addOIDCClaims([...oidc.requestParamClaims]);
    for (const [indicator, server] of Object.entries(oidc.resourceServers)) {
      const scopes = [...oidc.requestParamScopes].filter((s) => server.scopes.has(s));
      if (scopes.length) grant.addResourceScope(indicator, scopes);
    }
    await grant.save();
    return grant;
  },
  features: {
    devInteractions: { enabled: true }, // its login form's `login` field is the account id
    clientCredentials: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // Client credentials must name their resource: an opaque token would be of no use.
      async defaultResource(ctx, client, oneOf) {
        if (oneOf) return oneOf;
        if (ctx.oidc.params.grant_type === 'client_credentials') {
          throw new errors.InvalidTarget('a resource indicator is required for client_credentials');
        }
        return undefined;
      },
      // Tokens from a code (and its refresh tokens) are for the resource asked for at /auth.
      useGrantedResource: async () => true,
      async getResourceServerInfo(ctx, indicator) {
        const resource = resources.get(indicator);
        if (!resource) throw new errors.InvalidTarget(`unknown resource indicator ${indicator}`);
        return {
          audience: indicator,
          scope: resource.scope ?? '',
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: resource.alg ?? 'RS256' } },
        };
      },
    },
  },
});

// Log why a request was refused or failed (the Python side keeps this output in a log file).
for (const event of ['server_error', 'authorization.error', 'grant.error', 'end_session.error', 'userinfo.error']) {
  provider.on(event, (ctx, err) => console.error(event, err.message, err.error_description ?? '', err.cause ?? ''));
}

const adminToken = config.admin_token;
const handle = provider.callback();

// The test-only admin route sits in front of the provider; everything else is the provider's.
const server = createServer((req, res) => {
  const match = /^\/test-admin\/accounts\/([^/]+)\/disable$/.exec(req.url.split('?')[0]);
  if (!req.url.startsWith('/test-admin/')) return handle(req, res);
  if (!adminToken || req.headers.authorization !== `Bearer ${adminToken}`) {
    res.writeHead(401).end('unauthorized\n');
  } else if (req.method !== 'POST' || !match) {
    res.writeHead(404).end('not found\n');
  } else {
    disabled.add(decodeURIComponent(match[1]));
    res.writeHead(204).end();
  }
  return undefined;
});

server.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`ready ${issuer}\n`);
});

// Stop at once: open keep-alive connections must not hold the process up.
function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
