// The interop runner: one relying party (openid-client) driven line by line over stdin/stdout.
// Protocol (see README.md): each stdin line is a JSON command {"op": ..., ...arguments}; each
// command gets exactly one stdout line: {"ok": true, ...result} or {"ok": false, "error": {...}}.
// Commands run one at a time, in order. Diagnostics go to stderr only.
import { createInterface } from 'node:readline';
import { RelyingParty } from './rp.mjs';
import { BackchannelReceiver } from './backchannel.mjs';

const rp = new RelyingParty();
const receiver = new BackchannelReceiver();

const operations = {
  discover: (args) => rp.discover(args),
  authorize: (args) => rp.authorize(args),
  callback: (args) => rp.callback(args),
  refresh: (args) => rp.refresh(args),
  userinfo: (args) => rp.userinfo(args),
  revoke: (args) => rp.revoke(args),
  end_session_url: (args) => rp.endSessionUrl(args),
  backchannel_listen: (args) => {
    const server = rp.config.serverMetadata();
    return receiver.listen({
      issuer: server.issuer, jwksUri: server.jwks_uri, clientId: rp.config.clientMetadata().client_id,
      algorithms: args.algorithms ?? server.id_token_signing_alg_values_supported, path: args.path,
    });
  },
  backchannel_wait: (args) => receiver.wait(args),
  quit: async () => {
    await receiver.close();
    setImmediate(() => process.exit(0));
    return {};
  },
};

/** An error as the test sees it: openid-client's code plus the OAuth error fields when present. */
function describeError(error) {
  const described = { name: error?.name, code: error?.code, message: String(error?.message ?? error) };
  for (const field of ['error', 'error_description', 'status']) {
    if (error?.[field] !== undefined) described[field] = error[field];
  }
  if (error?.cause instanceof URLSearchParams) described.response = Object.fromEntries(error.cause);
  else if (Array.isArray(error?.cause)) described.challenges = error.cause;
  else if (error?.cause && typeof error.cause === 'object' && !(error.cause instanceof Error)) {
    described.response = error.cause;
  }
  if (error?.cause instanceof Error) described.cause = describeError(error.cause);
  return described;
}

function reply(message) {
  process.stdout.write(JSON.stringify(message) + '\n');
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  let command;
  try {
    command = JSON.parse(line);
  } catch (error) {
    reply({ ok: false, error: { name: 'SyntaxError', message: `not JSON: ${error.message}` } });
    continue;
  }
  const { op, ...args } = command;
  const operation = operations[op];
  if (!operation) {
    reply({ ok: false, error: { name: 'TypeError', message: `unknown op ${op}` } });
    continue;
  }
  try {
    reply({ ok: true, ...(await operation(args)) });
  } catch (error) {
    process.stderr.write(`${op} failed: ${error?.stack ?? error}\n`);
    reply({ ok: false, error: describeError(error) });
  }
}
await receiver.close();
