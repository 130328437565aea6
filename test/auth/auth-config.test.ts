import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { gql } from '../helpers/graphql';

const AUTH_CONFIG = `{ authConfig { passwordMinLength emailVerificationRequired totpEnabled passkeysEnabled cookieModeAvailable } }`;

describe('authConfig: what a client may render before anyone signs in', () => {
  const apps: TestApp[] = [];
  afterAll(async () => {
    await stopApps(...apps);
  });
  async function start(env: Record<string, string> = {}): Promise<TestApp> {
    const app = await startTestApp({ env });
    apps.push(app);
    return app;
  }

  it('answers anyone, with the defaults of a development server', async () => {
    const res = await gql(await start(), AUTH_CONFIG);
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({
      authConfig: {
        passwordMinLength: 8,
        emailVerificationRequired: false,
        totpEnabled: true,
        passkeysEnabled: true,
        cookieModeAvailable: true,
      },
    });
  });

  it('follows the settings: required email verification, passkeys off in production without WEBAUTHN_RP_ID', async () => {
    const app = await start({ NODE_ENV: 'production', BCRYPT_COST: '10', REQUIRE_EMAIL_VERIFICATION: 'true' });
    expect((await gql(app, AUTH_CONFIG)).data).toMatchObject({ authConfig: { emailVerificationRequired: true, passkeysEnabled: false } });
  });
});
