// A Redis storage adapter for the benchmark's peer (PEER_STORE=redis), so that the peer can also be
// measured keeping its sessions, codes, grants and tokens outside its process, as vn-idp does.
//
// Each stored model is a hash `{prefix}{Model}:{id}` with the JSON payload and, once consumed, the
// time of consumption; it expires with the model. Side indexes, each expiring with what they name:
//   {prefix}grant:{grantId}      set of the keys issued under a grant (revokeByGrantId)
//   {prefix}sessionUid:{uid}     id of the session with that uid
//   {prefix}userCode:{code}      id of the device code with that user code
// Writes of one upsert go in one MULTI, so a reader never sees a model without its indexes.
// Every model of the benchmark's configuration has a TTL (server.js `ttl`); a grant set is only
// ever extended to its longest-lived member's.

import Redis from 'ioredis';

const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

const nowSeconds = () => Math.floor(Date.now() / 1000);

export function redisAdapterFactory(url, prefix) {
  const client = new Redis(url, { enableAutoPipelining: true, lazyConnect: false });
  const grantKey = (grantId) => `${prefix}grant:${grantId}`;
  const uidKey = (uid) => `${prefix}sessionUid:${uid}`;
  const userCodeKey = (code) => `${prefix}userCode:${code}`;

  class RedisAdapter {
    constructor(model) {
      this.model = model;
    }

    key(id) {
      return `${prefix}${this.model}:${id}`;
    }

    async upsert(id, payload, expiresIn) {
      const key = this.key(id);
      const multi = client.multi().del(key).hset(key, 'payload', JSON.stringify(payload));
      if (expiresIn) multi.expire(key, expiresIn);
      if (this.model === 'Session' && payload.uid) {
        if (expiresIn) multi.set(uidKey(payload.uid), id, 'EX', expiresIn);
        else multi.set(uidKey(payload.uid), id);
      }
      if (GRANTABLE.has(this.model) && payload.grantId) {
        const grant = grantKey(payload.grantId);
        multi.sadd(grant, key);
        // the set lives as long as its longest-lived member
        if (expiresIn) multi.expire(grant, expiresIn, 'NX').expire(grant, expiresIn, 'GT');
        else multi.persist(grant);
      }
      if (payload.userCode) {
        if (expiresIn) multi.set(userCodeKey(payload.userCode), id, 'EX', expiresIn);
        else multi.set(userCodeKey(payload.userCode), id);
      }
      await multi.exec();
    }

    async find(id) {
      if (!id) return undefined;
      const stored = await client.hgetall(this.key(id));
      if (!stored || !stored.payload) return undefined;
      const payload = JSON.parse(stored.payload);
      if (stored.consumed) payload.consumed = Number(stored.consumed);
      return payload;
    }

    async findByUid(uid) {
      return this.find(await client.get(uidKey(uid)));
    }

    async findByUserCode(userCode) {
      return this.find(await client.get(userCodeKey(userCode)));
    }

    async consume(id) {
      await client.hset(this.key(id), 'consumed', nowSeconds());
    }

    async destroy(id) {
      await client.del(this.key(id));
    }

    async revokeByGrantId(grantId) {
      const grant = grantKey(grantId);
      const members = await client.smembers(grant);
      await client.del(...members, grant);
    }
  }

  return (model) => new RedisAdapter(model);
}
