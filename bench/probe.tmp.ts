import { load } from './lib/load';
import { startServer } from './lib/processes';
(async () => {
  const env = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATA_DIR: '/tmp/prof',
    DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
    JWT_ACCESS_SECRET: 'a'.repeat(40),
    JWT_REFRESH_SECRET: 'b'.repeat(40),
    BCRYPT_COST: '10',
    RATE_LIMITS: 'off',
  };
  const s = await startServer('p', 'bench/servers/project.ts', env);
  const email = `p${Date.now()}@example.com`;
  const r = await fetch(`${s.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: 'mutation ($i: SignupInput!) { signup(input: $i) { accessToken } }',
      variables: { i: { email, password: 'bench password 4711', name: 'P' } },
    }),
  });
  const token = ((await r.json()) as any).data.signup.accessToken;
  const h = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const cases: [string, any][] = [
    ['healthz', { url: `${s.url}/healthz` }],
    [
      'typename anon',
      {
        url: `${s.url}/graphql`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __typename }' }),
      },
    ],
    ['typename with token', { url: `${s.url}/graphql`, method: 'POST', headers: h, body: JSON.stringify({ query: '{ __typename }' }) }],
    ['me id only', { url: `${s.url}/graphql`, method: 'POST', headers: h, body: JSON.stringify({ query: '{ me { id } }' }) }],
    ['me full', { url: `${s.url}/graphql`, method: 'POST', headers: h, body: JSON.stringify({ query: '{ me { id email name role } }' }) }],
  ];
  for (const [name, o] of cases) {
    await load({ ...o, connections: 50, seconds: 2 });
    const res = await load({ ...o, connections: 50, seconds: 6 });
    console.log(name.padEnd(22), Math.round(res.requestsPerSecond), 'req/s p50', res.p50, 'non2xx', res.non2xx);
  }
  await s.stop();
})();
