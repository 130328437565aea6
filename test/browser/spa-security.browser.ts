// The example SPA's security settings in headless Chromium against the real API: TOTP enrolment
// with the QR code drawn in the page and the secret read from it (codes made here with `otpauth`, as
// an authenticator app would), the recovery codes shown once, the code step of a login
// (MFA_REQUIRED, then verifyMfa in cookie mode); a passkey created by Chrome's virtual authenticator
// (DevTools protocol, WebAuthn domain), listed, used to sign in without a password, and deleted; TOTP
// turned off with a recovery code.
//
// WebAuthn wants the page's host to be the RP id, so unlike spa.browser.ts the pages are opened on
// http://localhost:<port> (WEBAUTHN_RP_ID=localhost, WEBAUTHN_ORIGINS that origin) and the SPA
// calls the API on localhost too: another port, one site, so the SameSite=Strict cookie travels.
// Run with `npm run test:browser`.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Secret, TOTP } from 'otpauth';
import { chromium, type Browser, type CDPSession, type Page } from 'playwright-core';
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { signUp, type SignedIn } from '../helpers/factories';
import { must, mustBeString } from '../helpers/must';
import { buildSpa, serveSpa, SpaPage, type GraphQLExchange } from '../helpers/spa';

const ROOT = path.resolve(__dirname, '../..');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
/** Debian's Chromium; playwright-core never downloads a browser of its own here. */
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const RECOVERY_CODE = /^[A-Za-z0-9]{5}-[A-Za-z0-9]{5}$/;
const PASSKEY_NAME = 'Test laptop';

type PageState = 'signed-in' | 'signed-out' | 'mfa';

/** The claims of a JWT, read without checking it (the API checked it; this test only reads amr). */
function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(must(token.split('.')[1], 'the JWT payload'), 'base64url').toString()) as Record<string, unknown>;
}

describe('the example SPA’s security settings (TOTP, passkeys), in headless Chromium', () => {
  let api: TestApp;
  let spaServer: Server | undefined;
  let spaOrigin: string;
  let buildDir: string;
  let browser: Browser | undefined;
  let page: Page;
  let cdp: CDPSession;
  let authenticatorId: string;
  let account: SignedIn;
  let graphqlUrl: string;
  let totp: TOTP;
  let recoveryCodes: string[] = [];
  let spa: SpaPage<PageState>;

  async function screenshot(name: string): Promise<void> {
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, name), fullPage: true });
  }

  async function signOut(): Promise<void> {
    await spa.submit('#sign-out', 'Logout', 'signed-out');
    await spa.traffic();
  }

  async function fillLogin(): Promise<void> {
    await page.fill('#email', account.email);
    await page.fill('#password', account.password);
  }

  beforeAll(async () => {
    buildDir = mkdtempSync(path.join(tmpdir(), 'spa-build-'));
    const served = await serveSpa(buildDir, 'localhost');
    spaServer = served.server;
    spaOrigin = served.origin;
    api = await startTestApp({
      env: { CORS_ORIGINS: spaOrigin, WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: spaOrigin },
    });
    // The API on localhost as well: the page's site, for the cookie.
    graphqlUrl = `${api.url.replace('//127.0.0.1:', '//localhost:')}/graphql`;
    await buildSpa(buildDir, graphqlUrl);
    account = await signUp(api, { name: 'Grace Hopper' });

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    const context = await browser.newContext({ viewport: { width: 800, height: 900 } });
    page = await context.newPage();
    spa = new SpaPage(page, graphqlUrl);
    // A platform authenticator that holds discoverable credentials and always verifies the user.
    cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    }));
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    const server = spaServer;
    if (server) await new Promise((resolve) => server.close(resolve));
    await stopApps(api);
    if (buildDir) rmSync(buildDir, { recursive: true, force: true });
  });

  afterEach(() => {
    expect(spa.pageErrors).toEqual([]);
  });

  test('enrols TOTP: a QR code drawn in the page, the secret, a first code; ten recovery codes shown once', async () => {
    await page.goto(spaOrigin);
    await spa.settled('signed-out');
    await fillLogin();
    await spa.submit('#login-form button[type="submit"]', 'Me', 'signed-in');
    await expect(spa.text('#mfa-enabled')).resolves.toBe('off');
    await expect(page.locator('#disable-totp-form').isVisible()).resolves.toBe(false);
    await spa.traffic();

    await spa.submit('#enroll-totp', 'Me', 'signed-in');
    await expect(page.locator('#totp-enrolment').isVisible()).resolves.toBe(true);
    const secret = must(await spa.text('#totp-secret'), 'the secret on the page');
    const enrol = must(
      (await spa.traffic()).find((e) => e.operationName === 'EnrollTotp'),
      'the EnrollTotp request',
    );
    expect(enrol.body.data?.['enrollTotp'].secret).toBe(secret);
    expect(enrol.body.data?.['enrollTotp'].otpauthUri).toContain(`secret=${secret}`);
    // The QR code is an image made in the page (a data: URL, no outside service), and it has rendered.
    const src = must(await page.locator('#totp-qr').getAttribute('src'), 'the QR code image');
    expect(src).toMatch(/^data:image\/png;base64,/);
    const size = await page.evaluate<[number, number]>(
      `(() => { const img = document.getElementById('totp-qr'); return [img.naturalWidth, img.naturalHeight]; })()`,
    );
    expect(size[0]).toBeGreaterThan(100);
    expect(size[1]).toBe(size[0]);
    await screenshot('spa-totp-enrol.png');

    // A wrong code: refused, and the enrolment stays on the page for another try.
    await page.fill('#confirm-totp-code', '00000');
    await spa.submit('#confirm-totp-form button[type="submit"]', 'ConfirmTotp', 'signed-in');
    await expect(spa.text('#error')).resolves.not.toBe('');
    await expect(spa.text('#mfa-enabled')).resolves.toBe('off');
    await expect(page.locator('#totp-enrolment').isVisible()).resolves.toBe(true);
    await spa.traffic();

    // The authenticator app: the secret typed in.
    totp = new TOTP({ secret: Secret.fromBase32(secret) });
    await page.fill('#confirm-totp-code', totp.generate());
    await spa.submit('#confirm-totp-form button[type="submit"]', 'Me', 'signed-in');
    await expect(spa.text('#error')).resolves.toBe('');
    await expect(spa.text('#notice')).resolves.toBe('Two-step sign-in is on.');
    await expect(spa.text('#mfa-enabled')).resolves.toBe('on');
    await expect(page.locator('#totp-enrolment').isVisible()).resolves.toBe(false);
    await expect(page.locator('#enroll-totp').isVisible()).resolves.toBe(false);
    recoveryCodes = await page.locator('#recovery-codes li').allTextContents();
    expect(recoveryCodes).toHaveLength(10);
    for (const code of recoveryCodes) expect(code).toMatch(RECOVERY_CODE);
    const confirm = must(
      (await spa.traffic()).find((e) => e.operationName === 'ConfirmTotp'),
      'the ConfirmTotp request',
    );
    expect(confirm.body.data?.['confirmTotp']).toEqual(recoveryCodes);
    await screenshot('spa-totp-on.png');

    // Shown once: the next render of the profile no longer has them.
    await spa.submit('#reload-profile', 'Me', 'signed-in');
    await expect(page.locator('#recovery').isVisible()).resolves.toBe(false);
    await expect(page.locator('#recovery-codes li').count()).resolves.toBe(0);
    await expect(spa.text('#mfa-enabled')).resolves.toBe('on');
    await spa.traffic();
  });

  test('signs in with the password, then a code from the app (verifyMfa, cookie mode)', async () => {
    await signOut();
    await fillLogin();
    await spa.submit('#login-form button[type="submit"]', 'Login', 'mfa');
    await expect(spa.text('#error')).resolves.toBe('');
    await expect(page.locator('#mfa-code').isVisible()).resolves.toBe(true);
    await screenshot('spa-mfa-prompt.png');

    // A wrong code: the same challenge takes another.
    await page.fill('#mfa-code', '00000');
    await spa.submit('#mfa-form button[type="submit"]', 'VerifyMfa', 'mfa');
    await expect(spa.text('#error')).resolves.toBe('The code is wrong or was already used');

    // Each code works once and confirmTotp used this step's: the next step's, within the allowed drift.
    await page.fill('#mfa-code', totp.generate({ timestamp: Date.now() + 30_000 }));
    await spa.submit('#mfa-form button[type="submit"]', 'Me', 'signed-in');
    await expect(spa.text('#error')).resolves.toBe('');
    await expect(spa.text('#me-email')).resolves.toBe(account.email);
    await expect(spa.text('#mfa-enabled')).resolves.toBe('on');

    const seen = await spa.traffic();
    expect(seen.map((e) => e.operationName)).toEqual(['Login', 'VerifyMfa', 'VerifyMfa', 'Me']);
    const [login, wrong, verify, me] = seen as [GraphQLExchange, GraphQLExchange, GraphQLExchange, GraphQLExchange];
    expect(login.body.errors?.map((e) => `${String(e.extensions?.code)}/${String(e.extensions?.reason)}`)).toEqual([
      'UNAUTHENTICATED/MFA_REQUIRED',
    ]);
    expect(login.setCookie).toBeNull();
    expect(wrong.body.errors?.map((e) => e.extensions?.reason)).toEqual(['INVALID_MFA_CODE']);
    // The login's transport: the access token in the body, the refresh token only in the HttpOnly cookie.
    expect(verify.authorization).toBeUndefined();
    const payload = verify.body.data?.['verifyMfa'];
    expect(payload.refreshToken).toBeNull();
    expect(verify.setCookie).toMatch(/^refresh_token=.+; Path=\/graphql;.*HttpOnly; SameSite=Strict/);
    expect(claimsOf(mustBeString(payload.accessToken, 'the access token'))['amr']).toEqual(['pwd', 'otp', 'mfa']);
    expect(me.authorization).toBe(`Bearer ${String(payload.accessToken)}`);
    await screenshot('spa-mfa-signed-in.png');
  });

  test('registers a passkey with Chrome’s virtual authenticator, lists it, and signs in with it', async () => {
    await expect(spa.text('#no-passkeys')).resolves.toBe('No passkeys yet.');
    await page.fill('#passkey-name', PASSKEY_NAME);
    await spa.submit('#passkey-form button[type="submit"]', 'Me', 'signed-in');
    await expect(spa.text('#error')).resolves.toBe('');
    await expect(spa.text('#notice')).resolves.toBe('Passkey added.');
    await expect(page.locator('#no-passkeys').isVisible()).resolves.toBe(false);
    await expect(page.locator('#passkey-list .passkey-name').allTextContents()).resolves.toEqual([PASSKEY_NAME]);
    await expect(spa.text('#passkey-list .passkey-dates')).resolves.toContain('last used never');
    const registered = await spa.traffic();
    expect(registered.map((e) => e.operationName)).toEqual(['StartPasskeyRegistration', 'FinishPasskeyRegistration', 'Me']);
    const passkey = must(registered[1], 'the FinishPasskeyRegistration request').body.data?.['finishPasskeyRegistration'];
    expect(passkey).toMatchObject({ name: PASSKEY_NAME, lastUsedAt: null });
    // The credential lives in the authenticator, discoverable (no email needed to use it).
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(credentials).toHaveLength(1);
    expect(must(credentials[0], 'the credential').isResidentCredential).toBe(true);
    await screenshot('spa-passkeys.png');

    await signOut();
    await spa.submit('#passkey-login', 'Me', 'signed-in');
    await expect(spa.text('#error')).resolves.toBe('');
    await expect(spa.text('#me-email')).resolves.toBe(account.email);
    await expect(spa.text('#passkey-list .passkey-dates')).resolves.not.toContain('last used never');
    const seen = await spa.traffic();
    expect(seen.map((e) => e.operationName)).toEqual(['StartPasskeyLogin', 'FinishPasskeyLogin', 'Me']);
    const [start, finish] = seen as [GraphQLExchange, GraphQLExchange];
    expect(start.authorization).toBeUndefined();
    expect(finish.authorization).toBeUndefined();
    const session = finish.body.data?.['finishPasskeyLogin'];
    expect(session.refreshToken).toBeNull();
    expect(finish.setCookie).toMatch(/^refresh_token=.+; Path=\/graphql;.*HttpOnly; SameSite=Strict/);
    expect(claimsOf(mustBeString(session.accessToken, 'the access token'))['amr']).toEqual([expect.stringMatching(/^(hwk|swk)$/), 'mfa']);
    expect(must(seen[2], 'the Me request').body.data?.['passkeys'][0].lastUsedAt).toEqual(expect.any(String));
    await screenshot('spa-passkey-signed-in.png');

    // The cookie of the passkey login restores the session like any other.
    await page.reload();
    await spa.settled('signed-in');
    await expect(spa.text('#me-email')).resolves.toBe(account.email);
    await spa.traffic();
  });

  test('turns TOTP off with a recovery code and deletes the passkey; then the password alone signs in', async () => {
    await page.fill('#disable-totp-code', must(recoveryCodes[0], 'a recovery code'));
    await spa.submit('#disable-totp-form button[type="submit"]', 'Me', 'signed-in');
    await expect(spa.text('#error')).resolves.toBe('');
    await expect(spa.text('#notice')).resolves.toBe('Two-step sign-in is off.');
    await expect(spa.text('#mfa-enabled')).resolves.toBe('off');
    await expect(page.locator('#enroll-totp').isVisible()).resolves.toBe(true);

    await spa.submit('#passkey-list .delete-passkey', 'Me', 'signed-in');
    await expect(page.locator('#passkey-list li').count()).resolves.toBe(0);
    await expect(page.locator('#no-passkeys').isVisible()).resolves.toBe(true);
    const seen = await spa.traffic();
    expect(seen.map((e) => e.operationName)).toEqual(['DisableTotp', 'Me', 'DeletePasskey', 'Me']);
    expect(must(seen[0], 'the DisableTotp request').body.data?.['disableTotp']).toBe(true);
    expect(must(seen[2], 'the DeletePasskey request').body.data?.['deletePasskey']).toBe(true);

    await signOut();
    await fillLogin();
    await spa.submit('#login-form button[type="submit"]', 'Me', 'signed-in');
    await expect(spa.text('#error')).resolves.toBe('');
    expect((await spa.traffic()).map((e) => e.operationName)).toEqual(['Login', 'Me']);
    await screenshot('spa-security-off.png');
  });
});
