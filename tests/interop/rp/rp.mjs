// One relying party built on openid-client (panva): every operation the runner offers.
// Nothing here knows how the provider is written; it only speaks OpenID Connect over HTTP.
import * as client from 'openid-client';
import { calculateJwkThumbprint, decodeProtectedHeader, exportJWK, importJWK } from 'jose';

/** The client authentication object openid-client uses at the token, PAR, revocation endpoints. */
async function clientAuth(auth = {}) {
  switch (auth.method ?? 'client_secret_basic') {
    case 'client_secret_basic':
      return client.ClientSecretBasic(auth.secret);
    case 'client_secret_post':
      return client.ClientSecretPost(auth.secret);
    case 'none':
      return client.None();
    case 'private_key_jwt': {
      const key = await importJWK(auth.jwk, auth.jwk.alg ?? 'ES256');
      return client.PrivateKeyJwt({ key, kid: auth.jwk.kid });
    }
    default:
      throw new TypeError(`unknown client authentication method ${auth.method}`);
  }
}

/** What the test sees of a token endpoint response (ID token already validated by openid-client). */
function describeTokens(tokens) {
  return {
    token_type: tokens.token_type,
    scope: tokens.scope,
    expires_in: tokens.expiresIn(),
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    id_token: tokens.id_token,
    id_token_header: tokens.id_token ? decodeProtectedHeader(tokens.id_token) : undefined,
    claims: tokens.claims(),
  };
}

export class RelyingParty {
  config;
  dpop; // DPoP handle (one key pair per relying party) or undefined
  dpopJkt;
  pending = new Map(); // state -> { verifier, nonce, maxAge }
  tokens; // last token endpoint response
  sub; // subject of the last ID token, for userinfo's sub check

  /** discover: OIDC Discovery, client registration as given, optional DPoP key pair. */
  async discover({ issuer, client_id, auth, metadata = {}, dpop = false }) {
    const issuerUrl = new URL(issuer);
    const options = issuerUrl.protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : {};
    this.config = await client.discovery(issuerUrl, client_id, metadata, await clientAuth(auth), options);
    // Verify ID token signatures against the JWKS as well (openid-client trusts TLS otherwise).
    client.enableNonRepudiationChecks(this.config);
    if (dpop) {
      const pair = await client.randomDPoPKeyPair('ES256');
      this.dpop = client.getDPoPHandle(this.config, pair);
      this.dpopJkt = await calculateJwkThumbprint(await exportJWK(pair.publicKey));
    }
    return { server: this.config.serverMetadata(), dpop_jkt: this.dpopJkt };
  }

  /** authorize: a PKCE S256 + state + nonce authorization URL (pushed first when par is true). */
  async authorize({ redirect_uri, scope = 'openid', par = false, params = {} }) {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const parameters = {
      redirect_uri, scope, state, nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      ...params,
    };
    const url = par
      ? await client.buildAuthorizationUrlWithPAR(this.config, parameters, { DPoP: this.dpop })
      : client.buildAuthorizationUrl(this.config, parameters);
    const maxAge = params.max_age === undefined ? undefined : Number(params.max_age);
    this.pending.set(state, { verifier, nonce, maxAge });
    return { url: url.href, state, nonce };
  }

  /** callback: validate the authorization response (query or form_post) and redeem the code. */
  async callback({ url, form, state }) {
    const pending = this.pending.get(state);
    if (!pending) throw new TypeError('callback for an unknown state');
    this.pending.delete(state);
    const current = form
      ? new Request(url, { method: 'POST', body: new URLSearchParams(form) })
      : new URL(url);
    const tokens = await client.authorizationCodeGrant(this.config, current, {
      pkceCodeVerifier: pending.verifier,
      expectedState: state,
      expectedNonce: pending.nonce,
      maxAge: pending.maxAge,
    }, undefined, { DPoP: this.dpop });
    return this.#keep(tokens);
  }

  /** refresh: refresh token grant (the last refresh token unless one is given). */
  async refresh({ refresh_token } = {}) {
    const tokens = await client.refreshTokenGrant(this.config, refresh_token ?? this.tokens.refresh_token,
      undefined, { DPoP: this.dpop });
    return this.#keep(tokens);
  }

  /** userinfo: GET /userinfo with the last access token; openid-client checks sub matches the ID token.
   * With bearer: true a DPoP relying party presents its token as a plain Bearer token (no proof). */
  async userinfo({ access_token, bearer = false } = {}) {
    const userinfo = await client.fetchUserInfo(this.config, access_token ?? this.tokens.access_token,
      this.sub ?? client.skipSubjectCheck, { DPoP: bearer ? undefined : this.dpop });
    return { userinfo };
  }

  /** revoke: RFC 7009 revocation of a token (default the last refresh token). */
  async revoke({ token, hint } = {}) {
    const value = token ?? this.tokens.refresh_token;
    await client.tokenRevocation(this.config, value, hint ? { token_type_hint: hint } : undefined);
    return {};
  }

  /** end_session_url: RP-initiated logout URL with the last ID token as hint. */
  async endSessionUrl({ post_logout_redirect_uri, state, id_token_hint } = {}) {
    const params = { id_token_hint: id_token_hint ?? this.tokens?.id_token };
    if (post_logout_redirect_uri) params.post_logout_redirect_uri = post_logout_redirect_uri;
    if (state) params.state = state;
    return { url: client.buildEndSessionUrl(this.config, params).href };
  }

  #keep(tokens) {
    const previous = this.tokens;
    this.tokens = { ...tokens, refresh_token: tokens.refresh_token ?? previous?.refresh_token };
    const claims = tokens.claims();
    if (claims?.sub) this.sub = claims.sub;
    return { ...describeTokens(tokens), dpop_jkt: this.dpopJkt };
  }
}
