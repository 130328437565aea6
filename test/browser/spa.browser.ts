// The example single-page app (examples/spa) in headless Chromium against the real API, in cookie
// mode: sign in, `me`, a transparent refresh once the access token has expired, the refresh token
// out of reach of page JavaScript, a reload that keeps the session, sign out.
//
// The API and the built SPA listen on two ports of 127.0.0.1: two origins (so CORS_ORIGINS and
// `credentials: 'include'` are exercised as in a real deployment) but one site, so the
// SameSite=Strict refresh cookie travels. Run with `npm run test:browser`.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import express from 'express';
import { chromium, type Browser, type BrowserContext, type Page, type Response } from 'playwright-core';
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { until } from '../helpers/eventually';
import { codes, gql } from '../helpers/graphql';
import { signUp, type SignedIn } from '../helpers/factories';
import { must, mustBeString } from '../helpers/must';

const ROOT = path.resolve(__dirname, '../..');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
/** Debian's Chromium; playwright-core never downloads a browser of its own here. */
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const REFRESH_COOKIE = 'refresh_token';

/** One GraphQL POST the page made, as the network saw it. */
interface GraphQLExchange {
  operationName: string;
  authorization: string | undefined;
  cookie: string | undefined;
  setCookie: string | null;
  body: { data?: Record<string, any> | null; errors?: { extensions?: { code?: string; reason?: string } }[] };
}

/** Builds the SPA with the root's Vite, pointed at this API. */
async function buildSpa(outDir: string, apiUrl: string): Promise<void> {
  await promisify(execFile)(
    process.execPath,
    [path.join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', 'examples/spa', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'],
    { cwd: ROOT, env: { ...process.env, VITE_API_URL: apiUrl } },
  );
}

async function serveStatic(dir: string): Promise<{ server: Server; origin: string }> {
  const app = express();
  app.use(express.static(dir));
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => {
      resolve(listening);
    });
  });
  return { server, origin: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}` };
}

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
  let graphqlUrl: string;
  let exchanges: Promise<GraphQLExchange>[] = [];
  const history: GraphQLExchange[] = [];
  const pageErrors: Error[] = [];

  /** The GraphQL requests the page made since the last call, in order. */
  async function traffic(): Promise<GraphQLExchange[]> {
    const seen = await Promise.all(exchanges);
    exchanges = [];
    history.push(...seen);
    return seen;
  }

  /** The access token the API last gave the page (login or refresh). */
  function lastIssuedAccessToken(): string {
    const issued = history.map((e) => e.body.data?.['login'] ?? e.body.data?.['refreshToken']).filter(Boolean);
    return issued.at(-1).accessToken;
  }

  async function record(response: Response): Promise<GraphQLExchange> {
    const request = response.request();
    return {
      operationName: (request.postDataJSON() as { operationName: string }).operationName,
      authorization: (await request.headerValue('authorization')) ?? undefined,
      cookie: (await request.headerValue('cookie')) ?? undefined,
      setCookie: await response.headerValue('set-cookie'),
      body: (await response.json()) as GraphQLExchange['body'],
    };
  }

  async function refreshCookie() {
    return (await context.cookies(graphqlUrl)).find((cookie) => cookie.name === REFRESH_COOKIE);
  }

  /** Waits for the page to settle in `state` (the SPA's `main[data-state]`). */
  async function settled(state: 'signed-in' | 'signed-out'): Promise<void> {
    await page.locator(`main[data-state="${state}"]`).waitFor({ timeout: 20_000 });
  }

  beforeAll(async () => {
    buildDir = mkdtempSync(path.join(tmpdir(), 'spa-build-'));
    const spa = await serveStatic(buildDir);
    spaServer = spa.server;
    spaOrigin = spa.origin;
    api = await startTestApp({ env: { ACCESS_TOKEN_TTL: '3s', CORS_ORIGINS: spaOrigin } });
    graphqlUrl = `${api.url}/graphql`;
    await buildSpa(buildDir, graphqlUrl);
    account = await signUp(api, { name: 'Ada Lovelace' });

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    context = await browser.newContext({ viewport: { width: 800, height: 520 } });
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error));
    page.on('response', (response) => {
      if (response.url() === graphqlUrl && response.request().method() === 'POST') exchanges.push(record(response));
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    const server = spaServer;
    if (server) await new Promise((resolve) => server.close(resolve));
    await stopApps(api);
    if (buildDir) rmSync(buildDir, { recursive: true, force: true });
  });

  afterEach(() => {
    expect(pageErrors).toEqual([]);
  });

  test('signs in through the form and shows `me`', async () => {
    await page.goto(spaOrigin);
    await settled('signed-out');
    await page.fill('#email', account.email);
    await page.fill('#password', account.password);
    await page.click('button[type="submit"]');
    await settled('signed-in');

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
    await settled('signed-in');

    await expect(page.locator('#error').textContent()).resolves.toBe('');
    await expect(page.locator('#me-email').textContent()).resolves.toBe(account.email);
    const seen = await traffic();
    expect(seen.map((e) => e.operationName)).toEqual(['Me', 'RefreshToken', 'Me']);
    const expired = must(seen[0], 'the Me request with the expired token');
    const refresh = must(seen[1], 'the RefreshToken request');
    const retried = must(seen[2], 'the retried Me request');
    expect(expired.authorization).toBe(`Bearer ${accessToken}`);
    expect(expired.body.errors?.map((e) => e.extensions?.reason)).toEqual(['TOKEN_EXPIRED']);
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
    await settled('signed-in');
    await expect(page.locator('#me-email').textContent()).resolves.toBe(account.email);
    const seen = await traffic();
    expect(seen.map((e) => e.operationName)).toEqual(['RefreshToken', 'Me']);
    expect(must(seen[1], 'the Me request').body.data?.['me'].email).toBe(account.email);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'spa.png'), fullPage: true });
  });

  test('signing out ends the session and clears the cookie, also after a reload', async () => {
    await page.click('#sign-out');
    await settled('signed-out');
    await expect(page.locator('#error').textContent()).resolves.toBe('');
    const seen = await traffic();
    const logout = seen.findLast((e) => e.operationName === 'Logout');
    expect(logout?.body.data?.['logout']).toBe(true);
    expect(await refreshCookie()).toBeUndefined();
    // The access token the page used for the logout is dead on the server too.
    const res = await gql(api, '{ me { id } }', {}, { token: logout?.authorization?.replace(/^Bearer /, '') });
    expect(codes(res)).toEqual([expect.stringMatching(/^UNAUTHENTICATED\/TOKEN_(REVOKED|EXPIRED)$/)]);

    await page.reload();
    await settled('signed-out');
    const afterReload = await traffic();
    expect(afterReload.map((e) => e.operationName)).toEqual(['RefreshToken']);
    expect(must(afterReload[0], 'the RefreshToken request').body.errors?.map((e) => e.extensions?.reason)).toEqual(['TOKEN_MISSING']);
    await page.screenshot({ path: path.join(ARTIFACTS, 'spa-signed-out.png'), fullPage: true });
  });
});
