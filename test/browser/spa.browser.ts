// The example single-page app (examples/spa) in headless Chromium against the real API, in cookie
// mode: sign in, `me`, a transparent refresh once the access token has expired, the refresh token
// out of reach of page JavaScript, a reload that keeps the session, sign out; then the pages of the
// mailed links, with the mail read from a real SMTP server the test runs: the verification link, and
// a forgotten password reset through its link, which signs in.
//
// The API and the built SPA listen on two ports of 127.0.0.1: two origins (so CORS_ORIGINS and
// `credentials: 'include'` are exercised as in a real deployment) but one site, so the
// SameSite=Strict refresh cookie travels. Run with `npm run test:browser`.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { pollUntil, until } from '../helpers/eventually';
import { codes, gql } from '../helpers/graphql';
import { signUp, uniqueEmail, type SignedIn } from '../helpers/factories';
import { must, mustBeString } from '../helpers/must';
import { buildSpa, serveSpa, SpaPage, type GraphQLExchange } from '../helpers/spa';
import { TestSmtpServer, tokenIn, type ReceivedMail } from '../helpers/smtp';

const ROOT = path.resolve(__dirname, '../..');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
/** Debian's Chromium; playwright-core never downloads a browser of its own here. */
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const REFRESH_COOKIE = 'refresh_token';
const VERIFICATION_SUBJECT = 'Confirm your email address';
const RESET_SUBJECT = 'Reset your password';
const NEW_PASSWORD = 'a brand new passphrase for Ada';
const INVALID_LINK = 'This link is invalid or expired.';

type PageState = 'signed-in' | 'signed-out' | 'forgot-password' | 'reset-password' | 'verify-email';

describe('the example SPA in cookie mode, in headless Chromium', () => {
  let api: TestApp;
  /** The static server of the built SPA; undefined until beforeAll starts it. */
  let spaServer: Server | undefined;
  let spaOrigin: string;
  let buildDir: string;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  let account: SignedIn;
  let smtp: TestSmtpServer | undefined;
  let graphqlUrl: string;
  let spa: SpaPage<PageState>;
  const history: GraphQLExchange[] = [];

  /** The GraphQL requests the page made since the last call, in order. */
  async function traffic(): Promise<GraphQLExchange[]> {
    const seen = await spa.traffic();
    history.push(...seen);
    return seen;
  }

  /** The access token the API last gave the page (login or refresh). */
  function lastIssuedAccessToken(): string {
    const issued = history.map((e) => e.body.data?.['login'] ?? e.body.data?.['refreshToken']).filter(Boolean);
    return issued.at(-1).accessToken;
  }

  /** Leaves the page, once what the network saw of it is recorded: `navigation` is a goto or a click on a link. */
  async function leave(navigation: () => Promise<unknown>): Promise<void> {
    await spa.recorded();
    await navigation();
  }

  async function refreshCookie() {
    return (await context.cookies(graphqlUrl)).find((cookie) => cookie.name === REFRESH_COOKIE);
  }

  /** The `count`-th message with `subject` to `to`, once it arrived. */
  async function mail(to: string, subject: string, count: number): Promise<ReceivedMail> {
    const mails = await pollUntil(`${String(count)} "${subject}" message(s) to ${to}`, () => {
      const matching = must(smtp, 'the SMTP server')
        .to(to)
        .filter((m) => m.subject === subject);
      return Promise.resolve(matching.length >= count ? matching : undefined);
    });
    return must(mails[count - 1], `message ${String(count)}`);
  }

  /** The link to `route` in a message: on the SPA's origin (APP_URL), with the message's token in the fragment. */
  function linkIn(message: ReceivedMail, route: string): string {
    const link = must(new RegExp(`https?://\\S+${route}#token=\\S+`).exec(message.text)?.[0], `a ${route} link in "${message.subject}"`);
    expect(link).toBe(`${spaOrigin}${route}#token=${tokenIn(message)}`);
    return link;
  }

  beforeAll(async () => {
    buildDir = mkdtempSync(path.join(tmpdir(), 'spa-build-'));
    const served = await serveSpa(buildDir);
    spaServer = served.server;
    spaOrigin = served.origin;
    smtp = await TestSmtpServer.start();
    // The links in the mail are built from APP_URL: the origin this test serves the SPA from.
    api = await startTestApp({
      env: { ACCESS_TOKEN_TTL: '3s', CORS_ORIGINS: spaOrigin, SMTP_URL: smtp.url, APP_URL: spaOrigin, MAIL_POLL_INTERVAL: '100ms' },
    });
    graphqlUrl = `${api.url}/graphql`;
    await buildSpa(buildDir, graphqlUrl);
    account = await signUp(api, { name: 'Ada Lovelace' });

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    context = await browser.newContext({ viewport: { width: 800, height: 520 } });
    page = await context.newPage();
    spa = new SpaPage(page, graphqlUrl);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    const server = spaServer;
    if (server) await new Promise((resolve) => server.close(resolve));
    await stopApps(api);
    await smtp?.stop();
    if (buildDir) rmSync(buildDir, { recursive: true, force: true });
  });

  afterEach(() => {
    expect(spa.pageErrors).toEqual([]);
  });

  test('signs in through the form and shows `me`', async () => {
    await page.goto(spaOrigin);
    await spa.settled('signed-out');
    await page.fill('#email', account.email);
    await page.fill('#password', account.password);
    await page.click('#login-form button[type="submit"]');
    await spa.settled('signed-in');

    await expect(page.locator('#me-email').textContent()).resolves.toBe(account.email);
    await expect(page.locator('#me-name').textContent()).resolves.toBe('Ada Lovelace');
    await expect(page.locator('#me-role').textContent()).resolves.toBe('USER');
    const seen = await traffic();
    // On load no cookie yet (TOKEN_MISSING), then the login in cookie mode, then `me`.
    expect(seen.map((e) => e.operationName)).toEqual(['RefreshToken', 'Login', 'Me']);
    const login = must(seen[1], 'the Login request');
    const me = must(seen[2], 'the Me request');
    expect(login.body.data?.['login'].refreshToken).toBeNull();
    expect(login.setCookie).toMatch(/^refresh_token=.+; Path=\/graphql;.*HttpOnly; SameSite=Strict/);
    expect(me.authorization).toBe(`Bearer ${mustBeString(login.body.data?.['login'].accessToken, 'the access token of the login')}`);
  });

  test('refreshes through the cookie when the access token has expired, and retries `me`', async () => {
    const before = must(await refreshCookie(), 'the refresh cookie');
    // The page keeps its access token to itself; the network saw the API hand it over.
    const accessToken = lastIssuedAccessToken();
    // Wait until the API itself refuses that token as expired (ACCESS_TOKEN_TTL is 3s).
    await until('the page’s access token has expired', async () => {
      const res = await gql(api, '{ me { id } }', {}, { token: accessToken });
      return codes(res).join() === 'UNAUTHENTICATED/TOKEN_EXPIRED';
    });

    await page.click('#reload-profile');
    await spa.settled('signed-in');

    await expect(page.locator('#error').textContent()).resolves.toBe('');
    await expect(page.locator('#me-email').textContent()).resolves.toBe(account.email);
    const seen = await traffic();
    expect(seen.map((e) => e.operationName)).toEqual(['Me', 'RefreshToken', 'Me']);
    const expired = must(seen[0], 'the Me request with the expired token');
    const refresh = must(seen[1], 'the RefreshToken request');
    const retried = must(seen[2], 'the retried Me request');
    expect(expired.authorization).toBe(`Bearer ${accessToken}`);
    // One error for each field of the query that needs a session: `me` and `passkeys`.
    expect(expired.body.errors?.map((e) => e.extensions?.reason)).toEqual(['TOKEN_EXPIRED', 'TOKEN_EXPIRED']);
    // The refresh carried no token of its own: the browser sent the cookie, the API rotated it.
    expect(refresh.authorization).toBeUndefined();
    expect(refresh.cookie).toBe(`${REFRESH_COOKIE}=${before.value}`);
    expect(refresh.body.data?.['refreshToken'].accessToken).toEqual(expect.any(String));
    expect(refresh.setCookie).toMatch(/^refresh_token=.+HttpOnly; SameSite=Strict/);
    expect(retried.authorization).toBe(
      `Bearer ${mustBeString(refresh.body.data?.['refreshToken'].accessToken, 'the refreshed access token')}`,
    );
    expect(retried.body.data?.['me'].email).toBe(account.email);
    expect((await refreshCookie())?.value).not.toBe(before.value);
  });

  test('keeps the refresh token out of reach of page JavaScript', async () => {
    const cookie = await refreshCookie();
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/graphql', domain: '127.0.0.1' });
    // What the page's scripts can read (an expression string: this file has no DOM types).
    const everythingScriptsCanRead = `[document.cookie, JSON.stringify({ ...localStorage }), JSON.stringify({ ...sessionStorage })].join(' ')`;

    const onPage = await page.evaluate<string>(everythingScriptsCanRead);
    expect(onPage).not.toContain(REFRESH_COOKIE);
    expect(onPage).not.toContain(cookie?.value);
    // Cookies ignore ports: a page of the same host under /graphql would see the cookie unless it is HttpOnly.
    const probe = await context.newPage();
    await probe.goto(`${spaOrigin}/graphql`);
    const underCookiePath = await probe.evaluate<string>(everythingScriptsCanRead);
    await probe.close();
    expect(underCookiePath).not.toContain(REFRESH_COOKIE);
    expect(underCookiePath).not.toContain(cookie?.value);
  });

  test('a reload keeps the session: the cookie restores it', async () => {
    await page.reload();
    await spa.settled('signed-in');
    await expect(page.locator('#me-email').textContent()).resolves.toBe(account.email);
    const seen = await traffic();
    expect(seen.map((e) => e.operationName)).toEqual(['RefreshToken', 'Me']);
    expect(must(seen[1], 'the Me request').body.data?.['me'].email).toBe(account.email);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'spa.png'), fullPage: true });
  });

  test('signing out ends the session and clears the cookie, also after a reload', async () => {
    await page.click('#sign-out');
    await spa.settled('signed-out');
    await expect(page.locator('#error').textContent()).resolves.toBe('');
    const seen = await traffic();
    const logout = seen.findLast((e) => e.operationName === 'Logout');
    expect(logout?.body.data?.['logout']).toBe(true);
    expect(await refreshCookie()).toBeUndefined();
    // The access token the page used for the logout is dead on the server too.
    const res = await gql(api, '{ me { id } }', {}, { token: logout?.authorization?.replace(/^Bearer /, '') });
    expect(codes(res)).toEqual([expect.stringMatching(/^UNAUTHENTICATED\/TOKEN_(REVOKED|EXPIRED)$/)]);

    await page.reload();
    await spa.settled('signed-out');
    const afterReload = await traffic();
    expect(afterReload.map((e) => e.operationName)).toEqual(['RefreshToken']);
    expect(must(afterReload[0], 'the RefreshToken request').body.errors?.map((e) => e.extensions?.reason)).toEqual(['TOKEN_MISSING']);
    await page.screenshot({ path: path.join(ARTIFACTS, 'spa-signed-out.png'), fullPage: true });
  });

  test('shows the address unverified, resends the link, and the link from the mail verifies it', async () => {
    await page.fill('#email', account.email);
    await page.fill('#password', account.password);
    await spa.submit('#login-form button[type="submit"]', 'Me', 'signed-in');
    await expect(spa.text('#me-email-verified')).resolves.toBe('(not verified)');
    await expect(page.locator('#resend-verification').isVisible()).resolves.toBe(true);
    // The signup (through the API, in beforeAll) mailed the first link.
    const signupLink = linkIn(await mail(account.email, VERIFICATION_SUBJECT, 1), '/verify-email');

    await spa.submit('#resend-verification', 'Me', 'signed-in');
    await expect(spa.text('#notice')).resolves.toBe('A new verification link is on its way.');
    const resend = must(
      (await traffic()).findLast((e) => e.operationName === 'ResendVerificationEmail'),
      'the ResendVerificationEmail request',
    );
    expect(resend.body.data?.['resendVerificationEmail']).toBe(true);
    expect(resend.authorization).toMatch(/^Bearer /);
    const link = linkIn(await mail(account.email, VERIFICATION_SUBJECT, 2), '/verify-email');
    expect(link).not.toBe(signupLink);

    // The newer link voided the signup's.
    await leave(() => page.goto(signupLink));
    await spa.settled('verify-email');
    await expect(spa.text('#error')).resolves.toBe(INVALID_LINK);
    await expect(spa.text('#notice')).resolves.toBe('');
    // The token leaves the address bar (and the history) once read.
    expect(page.url()).toBe(`${spaOrigin}/verify-email`);
    const stale = await traffic();
    expect(stale.map((e) => e.operationName)).toEqual(['VerifyEmail']);
    expect(must(stale[0], 'the VerifyEmail request').body.errors?.map((e) => e.extensions?.reason)).toEqual(['TOKEN_INVALID']);

    // Back to the app (a fresh page: the fragment of the new link alone would not load one), then the new link.
    await leave(() => page.click('#verify-email a'));
    await spa.settled('signed-in');
    await leave(() => page.goto(link));
    await spa.settled('verify-email');
    await expect(spa.text('#notice')).resolves.toBe('Your email address is verified.');
    await expect(spa.text('#error')).resolves.toBe('');
    await page.screenshot({ path: path.join(ARTIFACTS, 'spa-verified.png'), fullPage: true });
    const verify = (await traffic()).filter((e) => e.operationName === 'VerifyEmail');
    expect(verify.map((e) => e.body.data?.['verifyEmail'])).toEqual([true]);
    // The link's operation carries no access token: the token of the link is the whole credential.
    expect(must(verify[0], 'the VerifyEmail request').authorization).toBeUndefined();

    await leave(() => page.click('#verify-email a'));
    await spa.settled('signed-in');
    await expect(spa.text('#me-email-verified')).resolves.toBe('(verified)');
    await expect(page.locator('#resend-verification').isVisible()).resolves.toBe(false);
  });

  test('forgot password: the reset link from the mail sets a new password and signs in', async () => {
    await page.click('#sign-out');
    await spa.settled('signed-out');
    await leave(() => page.click('text=Forgot password?'));
    await spa.settled('forgot-password');
    expect(page.url()).toBe(`${spaOrigin}/forgot-password`);
    await traffic();

    // The same neutral answer for an address without an account and for one with.
    const stranger = uniqueEmail('nobody');
    await page.fill('#forgot-email', stranger);
    await spa.submit('#forgot-form button[type="submit"]', 'RequestPasswordReset', 'forgot-password');
    await expect(spa.text('#notice')).resolves.toBe(`If an account exists for ${stranger}, a link to reset its password is on its way.`);
    await page.fill('#forgot-email', account.email);
    await spa.submit('#forgot-form button[type="submit"]', 'RequestPasswordReset', 'forgot-password');
    await expect(spa.text('#notice')).resolves.toBe(
      `If an account exists for ${account.email}, a link to reset its password is on its way.`,
    );
    await expect(spa.text('#error')).resolves.toBe('');
    await page.screenshot({ path: path.join(ARTIFACTS, 'spa-forgot-password.png'), fullPage: true });
    const requests = await traffic();
    expect(requests.map((e) => e.operationName)).toEqual(['RequestPasswordReset', 'RequestPasswordReset']);
    expect(requests.map((e) => e.body.data?.['requestPasswordReset'])).toEqual([true, true]);

    const resetLink = linkIn(await mail(account.email, RESET_SUBJECT, 1), '/reset-password');
    await leave(() => page.goto(resetLink));
    await spa.settled('reset-password');
    expect(page.url()).toBe(`${spaOrigin}/reset-password`);

    // A password the policy refuses: the field's message, and the page stays (the link is still good).
    await page.fill('#new-password', 'password');
    await spa.submit('#reset-form button[type="submit"]', 'ResetPassword', 'reset-password');
    await expect(spa.text('#error')).resolves.toBe('New password is too common; choose a less guessable password.');

    await page.fill('#new-password', NEW_PASSWORD);
    await spa.submit('#reset-form button[type="submit"]', 'ResetPassword', 'signed-in');
    await expect(spa.text('#error')).resolves.toBe('');
    await expect(spa.text('#me-email')).resolves.toBe(account.email);
    await expect(spa.text('#me-email-verified')).resolves.toBe('(verified)');
    expect(page.url()).toBe(`${spaOrigin}/`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'spa-reset.png'), fullPage: true });

    const seen = await traffic();
    expect(seen.map((e) => e.operationName)).toEqual(['ResetPassword', 'ResetPassword', 'Me']);
    const [refused, reset, me] = [must(seen[0], 'the refused reset'), must(seen[1], 'the reset'), must(seen[2], 'the Me request')];
    expect(refused.body.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(Object.keys(refused.body.errors?.[0]?.extensions?.fields ?? {})).toEqual(['newPassword']);
    // Signed in as after a login in cookie mode: the access token in the body, the refresh token only in the cookie.
    expect(reset.authorization).toBeUndefined();
    expect(reset.body.data?.['resetPassword'].refreshToken).toBeNull();
    expect(reset.setCookie).toMatch(/^refresh_token=.+; Path=\/graphql;.*HttpOnly; SameSite=Strict/);
    expect(me.authorization).toBe(
      `Bearer ${mustBeString(reset.body.data?.['resetPassword'].accessToken, 'the access token of the reset')}`,
    );
    expect(await refreshCookie()).toMatchObject({ httpOnly: true, sameSite: 'Strict' });

    // The link works once.
    await leave(() => page.goto(resetLink));
    await spa.settled('reset-password');
    await page.fill('#new-password', 'yet another passphrase for Ada');
    await spa.submit('#reset-form button[type="submit"]', 'ResetPassword', 'reset-password');
    await expect(spa.text('#error')).resolves.toBe(INVALID_LINK);
    const reused = await traffic();
    expect(reused.map((e) => e.operationName)).toEqual(['ResetPassword']);
    expect(must(reused[0], 'the reused link').body.errors?.map((e) => e.extensions?.reason)).toEqual(['TOKEN_INVALID']);
  });

  test('after the reset, signs out and signs in with the new password only', async () => {
    // The cookie the reset set restores the session on the main page.
    await leave(() => page.goto(spaOrigin));
    await spa.settled('signed-in');
    await expect(spa.text('#me-email')).resolves.toBe(account.email);
    await page.click('#sign-out');
    await spa.settled('signed-out');
    await traffic();

    await page.fill('#email', account.email);
    await page.fill('#password', account.password);
    await spa.submit('#login-form button[type="submit"]', 'Login', 'signed-out');
    await expect(spa.text('#error')).resolves.not.toBe('');

    await page.fill('#password', NEW_PASSWORD);
    await spa.submit('#login-form button[type="submit"]', 'Me', 'signed-in');
    await expect(spa.text('#error')).resolves.toBe('');
    await expect(spa.text('#me-email')).resolves.toBe(account.email);
    const seen = await traffic();
    expect(seen.map((e) => e.operationName)).toEqual(['Login', 'Login', 'Me']);
    expect(must(seen[0], 'the login with the old password').body.errors?.map((e) => e.extensions?.reason)).toEqual(['INVALID_CREDENTIALS']);
    expect(must(seen[1], 'the login with the new password').body.data?.['login'].accessToken).toEqual(expect.any(String));
    await page.screenshot({ path: path.join(ARTIFACTS, 'spa-new-password.png'), fullPage: true });
  });
});
