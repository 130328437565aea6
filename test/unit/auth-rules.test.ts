import jwt from 'jsonwebtoken';
import { authorizedDirectiveSdl } from '../../src/access/auth.decorator';
import { ruleAllows } from '../../src/access/rules';
import { accountOwning } from '../../src/auth/auth-checker';
import { TokenCodec } from '../../src/credentials/token.codec';
import { hashToken } from '../../src/credentials/token-hash';
import { AuthReason, AuthenticationFailure } from '../../src/errors';
import { Role } from '../../src/access/role';
import { User } from '../../src/users/user.entity';
import { must } from '../helpers/must';

function userWithId(id: string): User {
  const user = new User();
  user.id = id;
  return user;
}

describe('ruleAllows', () => {
  const viewer = { id: 'viewer-id', role: Role.USER };
  const moderator = { id: 'moderator-id', role: Role.MODERATOR };
  const admin = { id: 'admin-id', role: Role.ADMIN };

  it('lets any signed-in viewer through a rule without roles', () => {
    expect(ruleAllows({}, viewer, undefined)).toBe(true);
    expect(ruleAllows({ roles: [] }, viewer, undefined)).toBe(true);
  });

  it('lets a viewer through only with one of the roles', () => {
    const rule = { roles: [Role.MODERATOR, Role.ADMIN] };
    expect(ruleAllows(rule, moderator, undefined)).toBe(true);
    expect(ruleAllows(rule, admin, undefined)).toBe(true);
    expect(ruleAllows(rule, viewer, undefined)).toBe(false);
    expect(ruleAllows({ roles: [Role.ADMIN] }, moderator, undefined)).toBe(false);
  });

  it('with self, also lets through the user the field belongs to', () => {
    const rule = { roles: [Role.MODERATOR, Role.ADMIN], self: true };
    expect(ruleAllows(rule, viewer, accountOwning(userWithId(viewer.id)))).toBe(true);
    expect(ruleAllows(rule, viewer, accountOwning(userWithId('someone-else')))).toBe(false);
    expect(ruleAllows(rule, moderator, accountOwning(userWithId('someone-else')))).toBe(true);
  });

  it('does not take self from a parent that is not a User, nor without self', () => {
    expect(ruleAllows({ roles: [Role.ADMIN], self: true }, viewer, accountOwning({ id: viewer.id }))).toBe(false);
    expect(ruleAllows({ roles: [Role.ADMIN], self: true }, viewer, undefined)).toBe(false);
    expect(ruleAllows({ roles: [Role.ADMIN] }, viewer, accountOwning(userWithId(viewer.id)))).toBe(false);
    expect(ruleAllows({ roles: [Role.ADMIN], self: false }, viewer, accountOwning(userWithId(viewer.id)))).toBe(false);
  });
});

describe('authorizedDirectiveSdl', () => {
  it.each([
    [{}, '@authorized'],
    [{ roles: [] }, '@authorized'],
    [{ self: false }, '@authorized'],
    [{ roles: [Role.ADMIN] }, '@authorized(roles: [ADMIN])'],
    [{ roles: [Role.MODERATOR, Role.ADMIN] }, '@authorized(roles: [MODERATOR, ADMIN])'],
    [{ roles: [Role.MODERATOR, Role.ADMIN], self: true }, '@authorized(roles: [MODERATOR, ADMIN], self: true)'],
    [{ self: true }, '@authorized(self: true)'],
  ])('%j prints %s', (rule, sdl) => {
    expect(authorizedDirectiveSdl(rule)).toBe(sdl);
  });
});

describe('TokenCodec', () => {
  const config = {
    jwt: {
      accessSecret: Buffer.from('unit-access-secret-0123456789-abcdefghijklmnop'),
      refreshSecret: Buffer.from('unit-refresh-secret-0123456789-abcdefghijklmnop'),
      issuer: 'unit-issuer',
      audience: 'unit-audience',
    },
    accessTokenTtlMs: 15 * 60_000,
  };
  const tokens = new TokenCodec(config);
  const ids = { userId: 'user-1', sessionId: 'session-1' };

  function failure(fn: () => unknown): AuthenticationFailure {
    let thrown: unknown;
    try {
      fn();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AuthenticationFailure);
    return thrown as AuthenticationFailure;
  }

  it('verifies the access token it signs, with every claim and the configured lifetime', () => {
    const now = Date.now();
    const signed = tokens.signAccess({ ...ids, role: Role.MODERATOR }, now);
    const claims = tokens.verifyAccess(signed.token);
    expect(claims).toMatchObject({ sub: 'user-1', sid: 'session-1', role: Role.MODERATOR });
    expect(claims.exp).toBe(Math.floor(now / 1000) + 900);
    expect(signed.expiresAt.getTime()).toBe(claims.exp * 1000);
    const raw = must(jwt.decode(signed.token, { complete: true }), 'a decodable JWT');
    expect(raw.header.alg).toBe('HS256');
    expect(raw.payload).toMatchObject({ iss: 'unit-issuer', aud: 'unit-audience', typ: 'access', jti: claims.jti });
  });

  it('verifies the refresh token it signs, expiring with the session', () => {
    const expiresAt = new Date(Date.now() + 7 * 86_400_000);
    const signed = tokens.signRefresh({ ...ids, expiresAt });
    const claims = tokens.verifyRefresh(signed.token);
    expect(claims).toMatchObject({ sub: 'user-1', sid: 'session-1', exp: Math.floor(expiresAt.getTime() / 1000) });
    expect(claims).not.toHaveProperty('role');
  });

  it('gives every token its own jti', () => {
    const a = tokens.verifyAccess(tokens.signAccess({ ...ids, role: Role.USER }).token);
    const b = tokens.verifyAccess(tokens.signAccess({ ...ids, role: Role.USER }).token);
    expect(a.jti).not.toBe(b.jti);
  });

  it('never accepts one token type for the other', () => {
    const access = tokens.signAccess({ ...ids, role: Role.USER }).token;
    const refresh = tokens.signRefresh({ ...ids, expiresAt: new Date(Date.now() + 86_400_000) }).token;
    expect(failure(() => tokens.verifyRefresh(access)).reason).toBe(AuthReason.TOKEN_INVALID);
    expect(failure(() => tokens.verifyAccess(refresh)).reason).toBe(AuthReason.TOKEN_INVALID);
  });

  it('tells the types apart by typ even if both were signed with one secret', () => {
    const shared = new TokenCodec({ ...config, jwt: { ...config.jwt, refreshSecret: config.jwt.accessSecret } });
    const access = shared.signAccess({ ...ids, role: Role.ADMIN }).token;
    const refresh = shared.signRefresh({ ...ids, expiresAt: new Date(Date.now() + 86_400_000) }).token;
    expect(shared.verifyAccess(access).role).toBe(Role.ADMIN);
    expect(shared.verifyRefresh(refresh).sid).toBe('session-1');
    expect(failure(() => shared.verifyRefresh(access)).reason).toBe(AuthReason.TOKEN_INVALID);
    expect(failure(() => shared.verifyAccess(refresh)).reason).toBe(AuthReason.TOKEN_INVALID);
  });

  it('reports an expired token as TOKEN_EXPIRED', () => {
    const old = tokens.signAccess({ ...ids, role: Role.USER }, Date.now() - 3_600_000).token;
    expect(failure(() => tokens.verifyAccess(old)).reason).toBe(AuthReason.TOKEN_EXPIRED);
  });

  it('refuses tokens of another issuer or audience, even with the same secrets', () => {
    const otherIssuer = new TokenCodec({ ...config, jwt: { ...config.jwt, issuer: 'elsewhere' } });
    const otherAudience = new TokenCodec({ ...config, jwt: { ...config.jwt, audience: 'elsewhere' } });
    for (const other of [otherIssuer, otherAudience]) {
      const token = other.signAccess({ ...ids, role: Role.USER }).token;
      expect(failure(() => tokens.verifyAccess(token)).reason).toBe(AuthReason.TOKEN_INVALID);
    }
  });

  it('refuses garbage', () => {
    for (const garbage of ['', 'abc', 'a.b.c', '..']) {
      expect(failure(() => tokens.verifyAccess(garbage)).reason).toBe(AuthReason.TOKEN_INVALID);
      expect(failure(() => tokens.verifyRefresh(garbage)).reason).toBe(AuthReason.TOKEN_INVALID);
    }
  });

  it('hashes refresh tokens to a stable SHA-256 hex digest', () => {
    expect(hashToken('token')).toBe(hashToken('token'));
    expect(hashToken('token')).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken('token')).not.toBe(hashToken('token2'));
  });
});
