import { createHmac, createPublicKey, generateKeyPairSync, randomUUID, type JsonWebKey } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { ConfigError, loadConfig } from '../../src/config/config';
import { dropDatabases, freshDatabase, startTestApp, stopApps, TEST_ACCESS_SECRET, testEnv, type TestApp } from '../helpers/app';
import { logIn, signUp, type SignedIn } from '../helpers/factories';
import { codes, gql, type GraphQLResponse } from '../helpers/graphql';
import { must } from '../helpers/must';

interface KeySpec {
  kid: string;
  alg: 'ES256' | 'RS256';
  privateKey: string;
  publicPem: string;
}

function ecKey(kid: string): KeySpec {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    kid,
    alg: 'ES256',
    privateKey: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

function rsaKey(kid: string, modulusLength = 2048): KeySpec {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength });
  return {
    kid,
    alg: 'RS256',
    privateKey: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

function keysEnv(keys: KeySpec[]): { JWT_SIGNING_KEYS: string } {
  return { JWT_SIGNING_KEYS: JSON.stringify(keys.map(({ kid, alg, privateKey }) => ({ kid, alg, privateKey }))) };
}

interface Jwks {
  keys: (JsonWebKey & { kid: string; alg: string; use: string })[];
}

async function fetchJwks(app: TestApp): Promise<{ status: number; cacheControl: string | null; body: Jwks }> {
  const res = await fetch(`${app.url}/.well-known/jwks.json`);
  return { status: res.status, cacheControl: res.headers.get('cache-control'), body: (await res.json()) as Jwks };
}

/** Verifies an access token the way another service would: only from the published JWKS. */
function verifyWithJwks(token: string, jwks: Jwks, app: TestApp): jwt.JwtPayload {
  const { header } = must(jwt.decode(token, { complete: true }), 'a decodable JWT');
  const jwk = jwks.keys.find((key) => key.kid === header.kid);
  if (!jwk) throw new Error(`no JWK with kid ${String(header.kid)}`);
  const publicKey = createPublicKey({ key: jwk, format: 'jwk' });
  return jwt.verify(token, publicKey, {
    algorithms: [jwk.alg as jwt.Algorithm],
    issuer: app.config.jwt.issuer,
    audience: app.config.jwt.audience,
  }) as jwt.JwtPayload;
}

const ME = `query { me { id role } }`;

function headerOf(token: string): jwt.JwtHeader {
  return must(jwt.decode(token, { complete: true }), 'a decodable JWT').header;
}

function expectRefused(res: GraphQLResponse, reason = 'TOKEN_INVALID'): void {
  expect(res.data?.['me'] ?? null).toBeNull();
  expect(codes(res)).toEqual([`UNAUTHENTICATED/${reason}`]);
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('ES256 access tokens and the JWKS endpoint', () => {
  const k1 = ecKey('es-1');
  let app: TestApp;
  let user: SignedIn;
  beforeAll(async () => {
    app = await startTestApp({ env: keysEnv([k1]) });
    user = await signUp(app);
  });
  afterAll(async () => {
    await stopApps(app);
  });

  it('publishes the public key, cacheable for five minutes, with no private parts', async () => {
    const jwks = await fetchJwks(app);
    expect(jwks.status).toBe(200);
    expect(jwks.cacheControl).toBe('public, max-age=300');
    expect(jwks.body.keys).toHaveLength(1);
    const jwk = must(jwks.body.keys[0], 'the published key');
    expect(jwk).toMatchObject({ kid: 'es-1', alg: 'ES256', use: 'sig', kty: 'EC', crv: 'P-256' });
    expect(jwk).not.toHaveProperty('d');
    const fromJwk = createPublicKey({ key: jwk, format: 'jwk' });
    expect(fromJwk.export({ format: 'pem', type: 'spki' }).toString()).toBe(k1.publicPem);
  });

  it('signs access tokens with the key (kid, ES256) so another service can verify them from the JWKS', async () => {
    const login = await logIn(app, user.email, user.password);
    expect(headerOf(login.accessToken)).toMatchObject({ alg: 'ES256', kid: 'es-1' });
    const claims = verifyWithJwks(login.accessToken, (await fetchJwks(app)).body, app);
    expect(claims).toMatchObject({ sub: user.id, typ: 'access', role: 'USER' });
    expect(typeof claims.exp).toBe('number');

    const me = await gql(app, ME, {}, { token: login.accessToken });
    expect(me.errors).toBeUndefined();
    expect(me.data?.['me']).toEqual({ id: user.id, role: 'USER' });
  });

  it('keeps refresh tokens on HS256, and refreshing yields a working ES256 access token', async () => {
    expect(headerOf(user.refreshToken)).toMatchObject({ alg: 'HS256' });
    expect(headerOf(user.refreshToken).kid).toBeUndefined();
    const res = await gql(app, `mutation ($t: String!) { refreshToken(token: $t) { accessToken } }`, { t: user.refreshToken });
    expect(res.errors).toBeUndefined();
    const access = res.data?.['refreshToken'].accessToken as string;
    expect(headerOf(access)).toMatchObject({ alg: 'ES256', kid: 'es-1' });
    const me = await gql(app, ME, {}, { token: access });
    expect(me.data?.['me']).toEqual({ id: user.id, role: 'USER' });
  });

  describe('refuses forged tokens', () => {
    function payload(): Record<string, unknown> {
      const decoded = jwt.decode(user.accessToken) as jwt.JwtPayload;
      const now = Math.floor(Date.now() / 1000);
      return { ...decoded, iat: now, exp: now + 600, jti: randomUUID() };
    }

    it('control: a token signed with the configured private key and kid is accepted', async () => {
      const token = jwt.sign(payload(), k1.privateKey, { algorithm: 'ES256', keyid: 'es-1', noTimestamp: true });
      const me = await gql(app, ME, {}, { token });
      expect(me.errors).toBeUndefined();
      expect(me.data?.['me']).toEqual({ id: user.id, role: 'USER' });
    });

    it('an HS256 token signed with the public key PEM as the HMAC secret (alg confusion)', async () => {
      for (const kid of ['es-1', undefined]) {
        const header = { alg: 'HS256', typ: 'JWT', ...(kid ? { kid } : {}) };
        const input = `${b64url(header)}.${b64url(payload())}`;
        const signature = createHmac('sha256', k1.publicPem).update(input).digest('base64url');
        expectRefused(await gql(app, ME, {}, { token: `${input}.${signature}` }));
      }
    });

    it('an HS256 token signed with JWT_ACCESS_SECRET, once asymmetric keys are on', async () => {
      const plain = jwt.sign(payload(), TEST_ACCESS_SECRET, { algorithm: 'HS256', noTimestamp: true });
      expectRefused(await gql(app, ME, {}, { token: plain }));
      const withKid = jwt.sign(payload(), TEST_ACCESS_SECRET, { algorithm: 'HS256', keyid: 'es-1', noTimestamp: true });
      expectRefused(await gql(app, ME, {}, { token: withKid }));
    });

    it('a token from an unknown key, an unknown kid or no kid', async () => {
      const stranger = ecKey('es-1');
      const sameKidOtherKey = jwt.sign(payload(), stranger.privateKey, { algorithm: 'ES256', keyid: 'es-1', noTimestamp: true });
      expectRefused(await gql(app, ME, {}, { token: sameKidOtherKey }));
      const unknownKid = jwt.sign(payload(), k1.privateKey, { algorithm: 'ES256', keyid: 'nope', noTimestamp: true });
      expectRefused(await gql(app, ME, {}, { token: unknownKid }));
      const noKid = jwt.sign(payload(), k1.privateKey, { algorithm: 'ES256', noTimestamp: true });
      expectRefused(await gql(app, ME, {}, { token: noKid }));
    });

    it('a refresh-typed or expiry-less token signed with the right key', async () => {
      const refreshTyped = jwt.sign({ ...payload(), typ: 'refresh' }, k1.privateKey, {
        algorithm: 'ES256',
        keyid: 'es-1',
        noTimestamp: true,
      });
      expectRefused(await gql(app, ME, {}, { token: refreshTyped }));
      const noExp = { ...payload() };
      delete noExp['exp'];
      const unbounded = jwt.sign(noExp, k1.privateKey, { algorithm: 'ES256', keyid: 'es-1', noTimestamp: true });
      expectRefused(await gql(app, ME, {}, { token: unbounded }));
    });

    it('an access token used as a refresh token', async () => {
      const res = await gql(app, `mutation ($t: String!) { refreshToken(token: $t) { accessToken } }`, { t: user.accessToken });
      expect(codes(res)).toEqual(['UNAUTHENTICATED/TOKEN_INVALID']);
    });
  });
});

describe('HS256 (JWT_SIGNING_KEYS unset)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await stopApps(app);
  });

  it('serves an empty JWKS and keeps signing access tokens with HS256', async () => {
    const jwks = await fetchJwks(app);
    expect(jwks.status).toBe(200);
    expect(jwks.cacheControl).toBe('public, max-age=300');
    expect(jwks.body).toEqual({ keys: [] });
    const user = await signUp(app);
    expect(headerOf(user.accessToken).alg).toBe('HS256');
    expect(headerOf(user.accessToken).kid).toBeUndefined();
    const me = await gql(app, ME, {}, { token: user.accessToken });
    expect(me.data?.['me']).toEqual({ id: user.id, role: 'USER' });
  });
});

describe('RS256', () => {
  const rsa = rsaKey('rs-1');
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: keysEnv([rsa]) });
  });
  afterAll(async () => {
    await stopApps(app);
  });

  it('signs with RS256 and publishes an RSA JWK that verifies the token', async () => {
    const user = await signUp(app);
    expect(headerOf(user.accessToken)).toMatchObject({ alg: 'RS256', kid: 'rs-1' });
    const jwks = (await fetchJwks(app)).body;
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kid: 'rs-1', alg: 'RS256', use: 'sig', kty: 'RSA' });
    expect(jwks.keys[0]).not.toHaveProperty('d');
    expect(verifyWithJwks(user.accessToken, jwks, app)).toMatchObject({ sub: user.id, typ: 'access' });
    const me = await gql(app, ME, {}, { token: user.accessToken });
    expect(me.data?.['me']).toEqual({ id: user.id, role: 'USER' });
  });
});

describe('key rotation across restarts on the same database', () => {
  const k1 = ecKey('k1');
  const k2 = rsaKey('k2');
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  const apps: TestApp[] = [];
  beforeAll(async () => {
    database = await freshDatabase();
  });
  afterAll(async () => {
    for (const app of apps) await app.stop();
    await dropDatabases(database);
  });

  it('signs with the newest key, still accepts the older listed key, and refuses a dropped key', async () => {
    const first = await startTestApp({ database, env: keysEnv([k1]) });
    apps.push(first);
    const user = await signUp(first);
    const t1 = user.accessToken;
    expect(headerOf(t1).kid).toBe('k1');
    await first.stop();

    const second = await startTestApp({ database, env: keysEnv([k2, k1]) });
    apps.push(second);
    const jwks = (await fetchJwks(second)).body;
    expect(jwks.keys.map((key) => [key.kid, key.alg])).toEqual([
      ['k2', 'RS256'],
      ['k1', 'ES256'],
    ]);
    const fresh = await logIn(second, user.email, user.password);
    expect(headerOf(fresh.accessToken)).toMatchObject({ kid: 'k2', alg: 'RS256' });
    expect(verifyWithJwks(fresh.accessToken, jwks, second).sub).toBe(user.id);
    expect(verifyWithJwks(t1, jwks, second).sub).toBe(user.id);
    const oldStillWorks = await gql(second, ME, {}, { token: t1 });
    expect(oldStillWorks.errors).toBeUndefined();
    expect(oldStillWorks.data?.['me']).toEqual({ id: user.id, role: 'USER' });
    await second.stop();

    const third = await startTestApp({ database, env: keysEnv([k2]) });
    apps.push(third);
    expect((await fetchJwks(third)).body.keys.map((key) => key.kid)).toEqual(['k2']);
    expectRefused(await gql(third, ME, {}, { token: t1 }));
    const newest = await gql(third, ME, {}, { token: fresh.accessToken });
    expect(newest.errors).toBeUndefined();
    expect(newest.data?.['me']).toEqual({ id: user.id, role: 'USER' });
  });
});

describe('JWT_SIGNING_KEYS configuration', () => {
  const base = { dataDir: '/nonexistent-unused', databaseUrl: undefined };

  function load(raw: string) {
    return loadConfig(testEnv(base, { JWT_SIGNING_KEYS: raw }));
  }

  function configError(raw: string): ConfigError {
    try {
      load(raw);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).variable).toBe('JWT_SIGNING_KEYS');
      expect((error as Error).message).toMatch(/^JWT_SIGNING_KEYS /);
      return error as ConfigError;
    }
    throw new Error(`JWT_SIGNING_KEYS=${raw} was accepted`);
  }

  function entries(...keys: Record<string, unknown>[]): string {
    return JSON.stringify(keys);
  }

  const ec = ecKey('ec');
  const rsa = rsaKey('rsa');

  it('is empty when unset or blank', () => {
    expect(loadConfig(testEnv(base)).jwt.signingKeys).toEqual([]);
    expect(load('  ').jwt.signingKeys).toEqual([]);
  });

  it('parses keys in the given order, newest first, with prebuilt private and public KeyObjects', () => {
    const config = load(keysEnv([ec, rsa]).JWT_SIGNING_KEYS);
    expect(config.jwt.signingKeys.map((key) => [key.kid, key.alg])).toEqual([
      ['ec', 'ES256'],
      ['rsa', 'RS256'],
    ]);
    const [first] = config.jwt.signingKeys;
    expect(first?.privateKey.type).toBe('private');
    expect(first?.publicKey.type).toBe('public');
    expect(first?.publicKey.export({ format: 'pem', type: 'spki' }).toString()).toBe(ec.publicPem);
    expect(Object.isFrozen(config.jwt.signingKeys)).toBe(true);
  });

  it('rejects invalid JSON, a non-array and an empty array', () => {
    expect(configError('[{"kid":').message).toMatch(/JSON/);
    configError('{"kid":"a"}');
    configError('[]');
    configError('["a"]');
  });

  it('rejects a duplicate kid', () => {
    const other = ecKey('x');
    const error = configError(
      entries({ kid: 'same', alg: 'ES256', privateKey: ec.privateKey }, { kid: 'same', alg: 'ES256', privateKey: other.privateKey }),
    );
    expect(error.message).toMatch(/same/);
  });

  it('rejects a key whose type does not match alg', () => {
    expect(configError(entries({ kid: 'a', alg: 'ES256', privateKey: rsa.privateKey })).message).toMatch(/P-256/);
    expect(configError(entries({ kid: 'a', alg: 'RS256', privateKey: ec.privateKey })).message).toMatch(/RSA/);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(configError(entries({ kid: 'a', alg: 'ES256', privateKey: p384 })).message).toMatch(/P-256/);
  });

  it('rejects an RSA key under 2048 bits', () => {
    const small = rsaKey('small', 1024);
    expect(configError(entries({ kid: 'a', alg: 'RS256', privateKey: small.privateKey })).message).toMatch(/2048/);
  });

  it('rejects an unsupported alg, a missing or bad kid, and an unreadable or public-only key', () => {
    configError(entries({ kid: 'a', alg: 'HS256', privateKey: ec.privateKey }));
    configError(entries({ kid: 'a', alg: 'none', privateKey: ec.privateKey }));
    configError(entries({ alg: 'ES256', privateKey: ec.privateKey }));
    configError(entries({ kid: '', alg: 'ES256', privateKey: ec.privateKey }));
    configError(entries({ kid: 'a', alg: 'ES256' }));
    configError(entries({ kid: 'a', alg: 'ES256', privateKey: 'not a pem' }));
    configError(entries({ kid: 'a', alg: 'ES256', privateKey: ec.publicPem }));
  });

  it('never echoes key material in the error', () => {
    const error = configError(entries({ kid: 'a', alg: 'RS256', privateKey: ec.privateKey }));
    expect(error.message).not.toContain('PRIVATE KEY');
  });
});
