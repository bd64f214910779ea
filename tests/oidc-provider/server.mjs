// A real OpenID provider (the certified `oidc-provider` package) on 127.0.0.1 for the
// server's SSO tests. Configured by the test through a JSON file (argv[2]):
//   { "port": 0, "clients": [ { client_id, client_secret, redirect_uris, ... } ],
//     "users": { "<sub>": { "password": "...", "claims": { "groups": [...], ... } } },
//     "api_resource": "https://switchyard.test/api", "device_code_ttl": 600 }
// The device authorization grant (RFC 8628) is on: a client whose `grant_types` list
// `urn:ietf:params:oauth:grant-type:device_code` may start it at /device/auth; the person
// enters the user code at /device (the package's own pages), then signs in at the login
// page below. `device_code_ttl` (seconds, default 600) is how long a device code lives.
// A client with `grant_types: ["client_credentials"]` gets a JWT access token (RFC 9068)
// for the resource it names (`resource=`, RFC 8707); `api_resource` is the one resource
// served (absent: none, client credentials tokens cannot be had).
// Its own login page checks the user's password (the package's development pages accept
// anyone). Test-only admin endpoints, on the same port:
//   POST /admin/users   body: the new "users" object (a group removed, a user deleted)
//   POST /admin/rotate  new signing keys (RS256 and ES256); the old ones are no longer
//                       published, so a relying party must refetch the JWKS
//   POST /admin/tamper  body: {"claims": {...}, "foreign_key": bool}: the next ID token (or,
//                       in a client credentials answer, the JWT access token) the
//                       token endpoint hands out has these claims changed (`exp` in the
//                       past, another `aud`), re-signed with the provider's own key under
//                       its kid, or with a key it never published (a wrong signature)
//   POST /admin/slow_down  the next token request is answered `slow_down` (RFC 8628
//                       3.5), which this package never sends by itself
// It prints its issuer URL on stdout, one line, once it is listening.

import { createPrivateKey, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider, { errors } from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
let users = config.users ?? {};
let provider;
let issuer;
let keys;
/** What to change in the next ID token, or null. */
let tamper = null;
/** Whether the next token request is answered `slow_down`. */
let slowDown = false;

/** A fresh RS256 and ES256 signing key, each with its own kid. */
function signingKeys() {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  return [
    { ...rsa, kid: `rs-${randomUUID()}`, alg: 'RS256', use: 'sig' },
    { ...ec, kid: `es-${randomUUID()}`, alg: 'ES256', use: 'sig' },
  ];
}

/** A provider instance with new keys; the in-memory adapter's grants and codes are shared
 * between instances, so a rotation loses nothing but in-flight interactions. */
function makeProvider() {
  keys = signingKeys();
  const p = new Provider(issuer, {
    clients: config.clients ?? [],
    jwks: { keys },
    cookies: { keys: ['switchyard-test-oidc-provider'] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
      groups: ['groups'],
    },
    // The scopes' claims in the ID token itself, as Okta, Entra ID and Keycloak can be
    // configured to do: the relying party maps groups from the ID token.
    conformIdTokenClaims: false,
    enabledJWA: { idTokenSigningAlgValues: ['RS256', 'ES256'] },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // The CLI's sign-in, brokered by the server (RFC 8628).
      deviceFlow: { enabled: true },
      // JWT access tokens for the API's resource: what a service presents as Bearer.
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => false,
        getResourceServerInfo: (ctx, resource) => {
          if (!config.api_resource || resource !== config.api_resource) {
            throw new errors.InvalidTarget();
          }
          return {
            scope: 'api',
            audience: resource,
            accessTokenTTL: 3600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    ttl: { DeviceCode: config.device_code_ttl ?? 600 },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, sub) {
      const user = users[sub];
      if (!user) return undefined;
      return { accountId: sub, claims: async () => ({ sub, ...(user.claims ?? {}) }) };
    },
  });
  p.on('server_error', (ctx, err) => console.error('oidc-provider:', err));
  return p;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(res, uid, message) {
  res.writeHead(message ? 401 : 200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><title>Sign in</title>${message ? `<p>${escapeHtml(message)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<input name="login" autocomplete="username"><input name="password" type="password">
<button type="submit">Sign in</button></form>`);
}

/** The login prompt: the password checked, then consent given for what was asked. */
async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (req.method === 'GET') return loginPage(res, uid);
  if (action !== 'login') { res.writeHead(404); return res.end(); }
  const form = new URLSearchParams(await readBody(req));
  const sub = form.get('login');
  const user = users[sub];
  if (!user || user.password !== form.get('password')) {
    return loginPage(res, uid, 'wrong user name or password');
  }
  const grant = new provider.Grant({ accountId: sub, clientId: details.params.client_id });
  grant.addOIDCScope(String(details.params.scope ?? 'openid'));
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, {
    login: { accountId: sub },
    consent: { grantId },
  }, { mergeWithLastSubmission: false });
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');

/** `token` with `change.claims` merged in, signed again under the same header. */
function retamper(token, change) {
  const [h, p] = token.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  const claims = { ...JSON.parse(Buffer.from(p, 'base64url')), ...(change.claims ?? {}) };
  let jwk = keys.find((k) => k.kid === header.kid);
  if (change.foreign_key) {
    const fresh = signingKeys().find((k) => k.alg === header.alg);
    jwk = { ...fresh, kid: header.kid };
  }
  const key = createPrivateKey({ key: jwk, format: 'jwk' });
  const input = `${h}.${b64url(JSON.stringify(claims))}`;
  const signature = header.alg.startsWith('ES')
    ? sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
    : sign('sha256', Buffer.from(input), key);
  return `${input}.${b64url(signature)}`;
}

/** The token endpoint, its answer's ID token tampered with as asked (once). */
function tokenEndpoint(req, res) {
  const change = tamper;
  tamper = null;
  const chunks = [];
  const { write, end, setHeader } = res;
  res.setHeader = (name, value) =>
    name.toLowerCase() === 'content-length' ? res : setHeader.call(res, name, value);
  res.write = (chunk) => { chunks.push(Buffer.from(chunk)); return true; };
  res.end = (chunk) => {
    if (chunk) chunks.push(Buffer.from(chunk));
    let body = Buffer.concat(chunks).toString('utf8');
    try {
      const answer = JSON.parse(body);
      if (answer.id_token) answer.id_token = retamper(answer.id_token, change);
      else if (answer.access_token?.split('.').length === 3) {
        answer.access_token = retamper(answer.access_token, change);
      }
      body = JSON.stringify(answer);
    } catch (err) {
      console.error('oidc test provider: cannot tamper with', body, err);
    }
    res.write = write;
    res.end = end;
    return end.call(res, body);
  };
  return provider.callback()(req, res);
}

async function admin(req, res, what) {
  if (req.method !== 'POST') { res.writeHead(405); return res.end(); }
  if (what === 'tamper') {
    tamper = JSON.parse(await readBody(req));
  } else if (what === 'users') {
    users = JSON.parse(await readBody(req));
  } else if (what === 'slow_down') {
    slowDown = true;
  } else if (what === 'rotate') {
    provider = makeProvider();
  } else {
    res.writeHead(404);
    return res.end();
  }
  res.writeHead(204);
  return res.end();
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, issuer);
  const parts = url.pathname.split('/').filter(Boolean);
  let handled;
  if (parts[0] === 'interaction' && parts[1]) {
    handled = interaction(req, res, parts[1], parts[2]);
  } else if (parts[0] === 'admin') {
    handled = admin(req, res, parts[1]);
  } else if (parts[0] === 'token' && slowDown) {
    slowDown = false;
    res.writeHead(400, { 'content-type': 'application/json' });
    return res.end(JSON.stringify({ error: 'slow_down', error_description: 'test: poll slower' }));
  } else if (parts[0] === 'token' && tamper) {
    return tokenEndpoint(req, res);
  } else {
    return provider.callback()(req, res);
  }
  return handled.catch((err) => {
    console.error('oidc test provider:', err);
    if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' });
    res.end(String(err.message ?? err));
  });
});

server.listen(config.port ?? 0, '127.0.0.1', () => {
  issuer = `http://127.0.0.1:${server.address().port}`;
  provider = makeProvider();
  process.stdout.write(`${issuer}\n`);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
