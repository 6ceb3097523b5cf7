// A relying party's back-channel logout endpoint on a loopback port (OpenID Connect Back-Channel
// Logout 1.0 §2.5-2.8): receives POSTed logout tokens and validates them with jose against the
// provider's JWKS. Every delivery is kept, valid or not, for the test to inspect.
import { createServer } from 'node:http';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';

const EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** §2.6 Logout Token Validation; throws with a reason when the token must be rejected. */
export async function validateLogoutToken(token, { issuer, jwksUri, clientId, algorithms, seenJti }) {
  const jwks = createRemoteJWKSet(new URL(jwksUri));
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer, audience: clientId, typ: 'logout+jwt', algorithms, requiredClaims: ['iat', 'exp', 'jti'],
  });
  if (!payload.sub && !payload.sid) throw new Error('logout token has neither sub nor sid');
  const events = payload.events;
  if (!events || typeof events !== 'object' || typeof events[EVENT] !== 'object' || events[EVENT] === null) {
    throw new Error('logout token lacks the back-channel logout event');
  }
  if ('nonce' in payload) throw new Error('logout token must not contain a nonce');
  if (seenJti.has(payload.jti)) throw new Error('logout token jti replayed');
  seenJti.add(payload.jti);
  return { claims: payload, header: protectedHeader };
}

export class BackchannelReceiver {
  deliveries = []; // { valid, claims?, header?, reason?, status }
  waiters = [];
  seenJti = new Set();
  server;

  /** listen: start on 127.0.0.1 (a free port); returns the backchannel_logout_uri to register. */
  async listen({ issuer, jwksUri, clientId, algorithms, path = '/backchannel-logout' }) {
    this.expect = { issuer, jwksUri, clientId, algorithms, seenJti: this.seenJti };
    this.server = createServer((req, res) => this.#handle(req, res, path));
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return { uri: `http://127.0.0.1:${this.server.address().port}${path}` };
  }

  /** wait: resolve with the deliveries once at least `count` arrived, or after timeout_ms. */
  wait({ count = 1, timeout_ms = 10000 } = {}) {
    if (this.deliveries.length >= count) return Promise.resolve({ deliveries: this.deliveries });
    return new Promise((resolve) => {
      const waiter = { count, resolve };
      this.waiters.push(waiter);
      setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve({ deliveries: this.deliveries });
      }, timeout_ms);
    });
  }

  close() {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  async #handle(req, res, path) {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks).toString('utf8');
    let delivery;
    if (req.method !== 'POST' || new URL(req.url, 'http://x').pathname !== path) {
      delivery = { valid: false, reason: `unexpected ${req.method} ${req.url}`, status: 404 };
    } else if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      delivery = { valid: false, reason: `content-type ${req.headers['content-type']}`, status: 400 };
    } else {
      const token = new URLSearchParams(body).get('logout_token');
      try {
        if (!token) throw new Error('no logout_token parameter');
        const { claims, header } = await validateLogoutToken(token, this.expect);
        delivery = { valid: true, claims, header, status: 200 };
      } catch (error) {
        let header;
        try { header = token ? decodeProtectedHeader(token) : undefined; } catch { header = undefined; }
        delivery = { valid: false, reason: String(error?.message ?? error), header, status: 400 };
      }
    }
    if (delivery.valid) {
      res.writeHead(200, { 'cache-control': 'no-store' }).end();
    } else {
      res.writeHead(delivery.status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ error: 'invalid_request', error_description: delivery.reason }));
    }
    this.deliveries.push(delivery);
    for (const waiter of [...this.waiters]) {
      if (this.deliveries.length >= waiter.count) {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.resolve({ deliveries: this.deliveries });
      }
    }
  }
}
