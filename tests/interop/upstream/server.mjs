// node-oidc-provider (panva) as an upstream OpenID Provider for the federation interop tests.
// Listens on 127.0.0.1 only, on PORT (0 = any free port), and prints one JSON line
// {"issuer": ...} when ready. Clients come from the OIDC_CLIENTS environment variable (JSON array
// of client metadata). Every account signs in with the development login form; its claims are a
// synthetic Vietnamese citizen's.
import http from 'node:http';

import Provider from 'oidc-provider';

const clients = JSON.parse(process.env.OIDC_CLIENTS ?? '[]');
const server = http.createServer();

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients,
    async findAccount(_ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          return {
            sub,
            name: 'Nguyễn Văn An',
            family_name: 'Nguyễn',
            middle_name: 'Văn',
            given_name: 'An',
            birthdate: '1985-03-12',
            cccd: '049085001234',
          };
        },
      };
    },
    claims: {
      openid: ['sub'],
      profile: ['name', 'family_name', 'middle_name', 'given_name', 'birthdate', 'cccd'],
    },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    pkce: { required: () => true },
    cookies: { keys: ['interop-tests-only'] },
  });
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
