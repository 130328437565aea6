import { createHmac, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { startTestApp, stopApps, TEST_ACCESS_SECRET, TEST_REFRESH_SECRET, type TestApp } from '../helpers/app';
import { signUp, type SignedIn } from '../helpers/factories';
import { codes, gql, type GraphQLResponse } from '../helpers/graphql';
import { until } from '../helpers/eventually';
import { must } from '../helpers/must';

let app: TestApp;
let user: SignedIn;
/** The claims of a real access token, reused so that only the attacked part differs. */
let claims: { sub: string; sid: string; role: string; iss: string; aud: string };

beforeAll(async () => {
  app = await startTestApp();
  user = await signUp(app);
  const decoded = jwt.decode(user.accessToken) as jwt.JwtPayload;
  claims = {
    sub: must(decoded.sub, 'the sub claim'),
    sid: decoded['sid'] as string,
    role: decoded['role'] as string,
    iss: must(decoded.iss, 'the iss claim'),
    aud: decoded.aud as string,
  };
});
afterAll(async () => {
  await stopApps(app);
});

const ME = `query { me { id role } }`;
const REFRESH = `mutation ($t: String!) { refreshToken(token: $t) { accessToken refreshToken } }`;

function b64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

/** A JWT assembled by hand, so header and signature can say anything. */
function handMade(header: Record<string, unknown>, payload: Record<string, unknown>, secret?: string): string {
  const signingInput = `${b64url(header)}.${b64url(payload)}`;
  const algorithm = header['alg'] === 'HS512' ? 'sha512' : 'sha256';
  const signature = secret === undefined ? '' : createHmac(algorithm, secret).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}

/** Every claim an access token carries, valid for the real user and session; `overrides` may drop some (undefined). */
function accessPayload(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = { ...claims, typ: 'access', iat: now, exp: now + 600, jti: randomUUID(), ...overrides };
  return Object.fromEntries(Object.entries(payload).filter(([, value]) => value !== undefined));
}

function signAccessWith(payload: Record<string, unknown>, secret: string = TEST_ACCESS_SECRET, algorithm: jwt.Algorithm = 'HS256'): string {
  return jwt.sign(payload, secret, { algorithm, noTimestamp: true });
}

async function meWith(authorization: string): Promise<GraphQLResponse> {
  return gql(app, ME, {}, { headers: { authorization } });
}

function expectRefused(res: GraphQLResponse, reason = 'TOKEN_INVALID'): void {
  expect(res.data?.['me'] ?? null).toBeNull();
  expect(codes(res)).toEqual([`UNAUTHENTICATED/${reason}`]);
}

describe('control: the forging helpers make tokens the API accepts', () => {
  it('accepts a hand-signed token with every claim right, so each attack below fails for its own defect', async () => {
    const res = await meWith(`Bearer ${signAccessWith(accessPayload())}`);
    expect(res.errors).toBeUndefined();
    expect(res.data?.['me']).toEqual({ id: user.id, role: 'USER' });

    const byHand = await meWith(`Bearer ${handMade({ alg: 'HS256', typ: 'JWT' }, accessPayload(), TEST_ACCESS_SECRET)}`);
    expect(byHand.errors).toBeUndefined();
    expect(byHand.data?.['me']).toEqual({ id: user.id, role: 'USER' });
  });

  it('accepts the lower-case bearer scheme', async () => {
    const res = await meWith(`bearer ${user.accessToken}`);
    expect(res.errors).toBeUndefined();
    expect(res.data?.['me']).toEqual({ id: user.id, role: 'USER' });
  });
});

describe('forged and tampered access tokens', () => {
  it('refuses alg "none" with an empty signature', async () => {
    expectRefused(await meWith(`Bearer ${handMade({ alg: 'none', typ: 'JWT' }, accessPayload())}`));
    expectRefused(await meWith(`Bearer ${handMade({ alg: 'None' }, accessPayload())}`));
  });

  it('refuses a payload changed to role ADMIN under the original signature', async () => {
    const [header, , signature] = user.accessToken.split('.');
    const original = jwt.decode(user.accessToken) as Record<string, unknown>;
    const tampered = `${must(header, 'the header')}.${b64url({ ...original, role: 'ADMIN' })}.${must(signature, 'the signature')}`;
    expectRefused(await meWith(`Bearer ${tampered}`));
  });

  it('refuses a token signed with another secret', async () => {
    expectRefused(await meWith(`Bearer ${signAccessWith(accessPayload(), 'some-other-secret-0123456789-abcdefghijklmnop')}`));
  });

  it('refuses a token signed with the refresh secret', async () => {
    expectRefused(await meWith(`Bearer ${signAccessWith(accessPayload(), TEST_REFRESH_SECRET)}`));
  });

  it('refuses a token without exp', async () => {
    expectRefused(await meWith(`Bearer ${signAccessWith(accessPayload({ exp: undefined }))}`));
  });

  it('answers TOKEN_EXPIRED once the exp of a token accepted before has passed', async () => {
    // The server remembers tokens that verified, so the second use skips the signature: not the expiry.
    const exp = Math.floor(Date.now() / 1000) + 2;
    const token = `Bearer ${signAccessWith(accessPayload({ exp }))}`;
    const accepted = await meWith(token);
    expect(accepted.errors).toBeUndefined();
    expect(accepted.data?.['me']).toEqual({ id: user.id, role: 'USER' });
    await until('the token has expired', () => Promise.resolve(Date.now() >= exp * 1000));
    expectRefused(await meWith(token), 'TOKEN_EXPIRED');
    expectRefused(await meWith(token), 'TOKEN_EXPIRED');
  });

  it('answers TOKEN_EXPIRED for a correctly signed token past its exp', async () => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    expectRefused(await meWith(`Bearer ${signAccessWith(accessPayload({ iat: past - 900, exp: past }))}`), 'TOKEN_EXPIRED');
  });

  it('refuses a wrong or missing issuer', async () => {
    expectRefused(await meWith(`Bearer ${signAccessWith(accessPayload({ iss: 'someone-else' }))}`));
    expectRefused(await meWith(`Bearer ${signAccessWith(accessPayload({ iss: undefined }))}`));
  });

  it('refuses a wrong or missing audience', async () => {
    expectRefused(await meWith(`Bearer ${signAccessWith(accessPayload({ aud: 'another-api' }))}`));
    expectRefused(await meWith(`Bearer ${signAccessWith(accessPayload({ aud: undefined }))}`));
  });

  it('refuses HS512 even with the right secret', async () => {
    expectRefused(await meWith(`Bearer ${signAccessWith(accessPayload(), TEST_ACCESS_SECRET, 'HS512')}`));
  });

  it('refuses an RS256 header over an HMAC made with the right secret (algorithm confusion)', async () => {
    expectRefused(await meWith(`Bearer ${handMade({ alg: 'RS256', typ: 'JWT' }, accessPayload(), TEST_ACCESS_SECRET)}`));
  });

  it('refuses a missing or wrong typ', async () => {
    expectRefused(await meWith(`Bearer ${signAccessWith(accessPayload({ typ: undefined }))}`));
    expectRefused(await meWith(`Bearer ${signAccessWith(accessPayload({ typ: 'refresh' }))}`));
    expectRefused(await meWith(`Bearer ${signAccessWith(accessPayload({ typ: 'ACCESS' }))}`));
  });

  it('refuses a missing sid, sub, role or jti', async () => {
    for (const claim of ['sid', 'sub', 'role', 'jti']) {
      expectRefused(await meWith(`Bearer ${signAccessWith(accessPayload({ [claim]: undefined }))}`));
    }
  });

  it('refuses a sid that names no session, or a session of another user', async () => {
    expectRefused(await meWith(`Bearer ${signAccessWith(accessPayload({ sid: randomUUID() }))}`));
    const other = await signUp(app);
    const otherSid = (jwt.decode(other.accessToken) as jwt.JwtPayload)['sid'] as string;
    expectRefused(await meWith(`Bearer ${signAccessWith(accessPayload({ sid: otherSid }))}`));
  });
});

describe('one token type in place of the other', () => {
  it('refuses a refresh token as the bearer token', async () => {
    expectRefused(await meWith(`Bearer ${user.refreshToken}`));
  });

  it('refuses, as a bearer token, refresh claims signed with the access secret', async () => {
    const refreshClaims = jwt.decode(user.refreshToken) as Record<string, unknown>;
    expectRefused(await meWith(`Bearer ${signAccessWith(refreshClaims)}`));
  });

  it('refuses an access token given to refreshToken(token:), and refreshes nothing', async () => {
    const res = await gql(app, REFRESH, { t: user.accessToken });
    expect(res.data).toBeNull();
    expect(codes(res)).toEqual(['UNAUTHENTICATED/TOKEN_INVALID']);
  });

  it('refuses access claims signed with the refresh secret given to refreshToken(token:)', async () => {
    const forged = jwt.sign(accessPayload(), TEST_REFRESH_SECRET, { algorithm: 'HS256', noTimestamp: true });
    const res = await gql(app, REFRESH, { t: forged });
    expect(res.data).toBeNull();
    expect(codes(res)).toEqual(['UNAUTHENTICATED/TOKEN_INVALID']);
  });
});

describe('malformed Authorization headers', () => {
  it.each([
    ['two segments', () => user.accessToken.split('.').slice(0, 2).join('.')],
    ['non-base64 segments', () => 'not!base64.@@@.###'],
    ['base64 that is not JSON', () => `${b64url('hello')}.${b64url('world')}.${b64url('sig')}`],
    ['dots only', () => '..'],
    ['a very long token', () => `${user.accessToken}${'A'.repeat(8000)}`],
    ['two tokens', () => `${user.accessToken} ${user.accessToken}`],
  ])('refuses %s', async (_name, token) => {
    expectRefused(await meWith(`Bearer ${token()}`));
  });

  it('refuses Bearer with no token', async () => {
    expectRefused(await meWith('Bearer'));
    expectRefused(await meWith('Bearer    '));
  });

  it('refuses other schemes', async () => {
    expectRefused(await meWith(`Basic ${Buffer.from('a:b').toString('base64')}`));
    expectRefused(await meWith(`Token ${user.accessToken}`));
    expectRefused(await meWith(user.accessToken));
  });

  it('reports a missing token as TOKEN_MISSING, not as invalid', async () => {
    const res = await gql(app, ME);
    expect(res.data?.['me'] ?? null).toBeNull();
    expect(codes(res)).toEqual(['UNAUTHENTICATED/TOKEN_MISSING']);
  });
});
