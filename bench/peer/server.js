// The benchmark's peer: node `oidc-provider`, configured for the same workloads as vn-idp.
//
// Storage: the library's in-memory adapter by default (an LRU of 1,000 entries), or Redis with
// PEER_STORE=redis (redis_adapter.js; PEER_REDIS_URL required, PEER_REDIS_PREFIX).
// ES256 everywhere (ID tokens and JWT access tokens through resource indicators),
// client_credentials, introspection, revocation, refresh tokens rotated on every use, and a tiny
// login interaction in place of devInteractions:
//   PEER_PASSWORD_CHECK=cheap   constant-time compare with the fixed password (protocol cost only)
//   PEER_PASSWORD_CHECK=argon2  argon2id verify at OWASP parameters (m=19 MiB, t=2, p=1)
// Consent is skipped for the benchmark's clients (loadExistingGrant creates the grant), as vn-idp
// does for its "trusted" clients.
//
// Environment: PEER_PORT (default 3999), PEER_CLIENTS (JSON file written by bench/run.py with
// client_id, client_secret, redirect_uri of each client), PEER_USERNAME, PEER_PASSWORD.
// Listens on 127.0.0.1 only.

import { generateKeyPairSync, timingSafeEqual, createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';
import { redisAdapterFactory } from './redis_adapter.js';
import { hash as argon2Hash, verify as argon2Verify, Algorithm } from '@node-rs/argon2';

const port = Number(process.env.PEER_PORT || 3999);
const issuer = `http://127.0.0.1:${port}`;
const username = process.env.PEER_USERNAME || 'bench-user';
const password = process.env.PEER_PASSWORD || 'bench-password-not-common-1';
const passwordCheck = process.env.PEER_PASSWORD_CHECK || 'cheap';
const clients = JSON.parse(readFileSync(process.env.PEER_CLIENTS, 'utf8'));
const API_RESOURCE = 'urn:vn-idp-bench:api';
const store = process.env.PEER_STORE || 'memory';
if (!['memory', 'redis'].includes(store)) throw new Error(`PEER_STORE must be memory or redis, not ${store}`);
if (store === 'redis' && !process.env.PEER_REDIS_URL) throw new Error('PEER_STORE=redis needs PEER_REDIS_URL');

// OWASP Password Storage Cheat Sheet parameters, the same as vn-idp's idp.accounts.passwords.
const ARGON2 = { algorithm: Algorithm.Argon2id, memoryCost: 19 * 1024, timeCost: 2, parallelism: 1, outputLen: 32 };
const passwordHash = passwordCheck === 'argon2' ? await argon2Hash(password, ARGON2) : null;
const passwordDigest = createHash('sha256').update(password).digest();

async function passwordMatches(presented) {
  if (passwordHash) return argon2Verify(passwordHash, presented);
  return timingSafeEqual(createHash('sha256').update(presented).digest(), passwordDigest);
}

const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });

const configuration = {
  ...(store === 'redis'
    ? { adapter: redisAdapterFactory(process.env.PEER_REDIS_URL, process.env.PEER_REDIS_PREFIX || 'peer:') }
    : {}),
  clients: clients.map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    redirect_uris: c.redirect_uri ? [c.redirect_uri] : [],
    response_types: c.redirect_uri ? ['code'] : [],
    grant_types: c.grant_types,
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
  })),
  jwks: { keys: [{ ...signingKey, kid: 'bench-es256', alg: 'ES256', use: 'sig' }] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  routes: {
    authorization: '/authorize',
    userinfo: '/userinfo',
    introspection: '/introspect',
    revocation: '/revoke',
  },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'api'],
  claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // Only client_credentials gets the API audience (an ES256 JWT access token); the sign-in's
      // access token stays opaque so that it works at userinfo, as in vn-idp.
      defaultResource: (ctx) => (ctx.oidc.params?.grant_type === 'client_credentials' ? API_RESOURCE : undefined),
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'api',
        audience: API_RESOURCE,
        accessTokenTTL: 300,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
  pkce: { required: () => true },
  rotateRefreshToken: true,
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  expiresWithSession: async () => false,
  ttl: {
    AccessToken: 300,
    AuthorizationCode: 60,
    ClientCredentials: 300,
    IdToken: 300,
    Interaction: 600,
    Grant: 30 * 24 * 3600,
    RefreshToken: 30 * 24 * 3600,
    Session: 8 * 3600,
  },
  findAccount: async (_ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, name: 'Nguyễn Văn Bench', email: 'bench@example.vn', email_verified: true }),
  }),
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile email offline_access');
    await grant.save();
    return grant;
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  renderError: async (ctx, out) => {
    ctx.type = 'json';
    ctx.body = out;
  },
};

const provider = new Provider(issuer, configuration);
provider.on('server_error', (_ctx, err) => console.error('server_error', err));

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function loginPage(uid, csrf, error) {
  return `<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Đăng nhập</title></head><body>
<h1>Đăng nhập</h1>${error ? `<p role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<input type="hidden" name="csrf_token" value="${escapeHtml(csrf)}">
<label>Tên đăng nhập <input name="username" autocomplete="username"></label>
<label>Mật khẩu <input type="password" name="password" autocomplete="current-password"></label>
<button type="submit">Đăng nhập</button></form></body></html>`;
}

function readForm(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      body += chunk;
      if (body.length > 16384) reject(new Error('form too large'));
    });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

// CSRF for the login form: an HMAC of the interaction uid (the interaction cookie binds the uid
// to this browser), so the form cannot be posted for another browser's interaction.
const csrfKey = randomBytes(32);
const csrfFor = (uid) => createHash('sha256').update(csrfKey).update(uid).digest('base64url');

async function interaction(req, res) {
  const match = /^\/interaction\/([\w-]+)(\/login)?$/.exec(req.url.split('?')[0]);
  if (!match) return false;
  const [, uid, login] = match;
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (!login && req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(loginPage(uid, csrfFor(uid)));
    return true;
  }
  if (login && req.method === 'POST') {
    const form = await readForm(req);
    const csrf = Buffer.from(form.get('csrf_token') || '');
    const expected = Buffer.from(csrfFor(uid));
    const csrfOk = csrf.length === expected.length && timingSafeEqual(csrf, expected);
    const ok = csrfOk && form.get('username') === username && (await passwordMatches(form.get('password') || ''));
    if (!ok) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(loginPage(uid, csrfFor(uid), 'Sai tên đăng nhập hoặc mật khẩu.'));
      return true;
    }
    await provider.interactionFinished(req, res, { login: { accountId: username } }, { mergeWithLastSubmission: false });
    return true;
  }
  res.writeHead(405).end();
  return true;
}

const handle = provider.callback();
const server = http.createServer(async (req, res) => {
  try {
    if (req.url.startsWith('/interaction/') && (await interaction(req, res))) return;
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    handle(req, res);
  } catch (err) {
    console.error('interaction error', err);
    if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' });
    res.end('bad request');
  }
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => console.log(`peer oidc-provider on ${issuer} (password check: ${passwordCheck}, store: ${store})`));
