// The explorer page on GET /graphql in headless Chromium with the network cut off: every request that
// is not to the test server is aborted, as on a laptop without internet. By default (EXPLORER=sandbox
// outside production) the page tries Apollo Sandbox's script from Apollo's CDN, and falls back to the
// GraphiQL bundled with the API; its docs pane shows the @authorized rules; `me` runs with a bearer
// token typed into the Headers tab; in cookie mode, `login` sets the HttpOnly refresh cookie and
// `refreshToken` without an argument is answered through it. Run with `npm run test:browser`.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page, type Request } from 'playwright-core';
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { signUp, type SignedIn } from '../helpers/factories';
import { must } from '../helpers/must';

const ROOT = path.resolve(__dirname, '../..');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
/** Debian's Chromium; playwright-core never downloads a browser of its own here. */
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const SANDBOX_SCRIPT = 'https://embeddable-sandbox.cdn.apollographql.com/v2/embeddable-sandbox.umd.production.min.js';

describe('the explorer, offline, in headless Chromium', () => {
  let api: TestApp;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  let account: SignedIn;
  let graphqlUrl: string;
  /** The origins of the test servers: the only ones the cut-off network reaches. */
  const servers = new Set<string>();
  /** Requests the page made that the cut-off network refused. */
  const aborted: string[] = [];
  const pageErrors: Error[] = [];
  /** The browser's console errors, CSP violations among them. */
  const consoleErrors: string[] = [];

  /** Replaces the text of the Monaco editor inside `selector` (the query or the headers editor). */
  async function typeInto(selector: string, text: string): Promise<void> {
    await page.locator(`${selector} .monaco-editor:visible`).click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    if (text) await page.keyboard.insertText(text);
  }

  /** Clicks Run and resolves with the POST /graphql it sent, once the response pane shows `expected`. */
  async function run(expected: string): Promise<{ request: Request; body: any }> {
    const answered = page.waitForResponse((response) => response.url() === graphqlUrl && response.request().method() === 'POST');
    await page.click('.graphiql-execute-button');
    const response = await answered;
    const body = await response.json();
    await page.locator('.graphiql-response', { hasText: expected }).waitFor({ timeout: 20_000 });
    return { request: response.request(), body };
  }

  async function refreshCookie() {
    return (await context.cookies(graphqlUrl)).find((cookie) => cookie.name === 'refresh_token');
  }

  beforeAll(async () => {
    api = await startTestApp();
    graphqlUrl = `${api.url}/graphql`;
    servers.add(api.url);
    account = await signUp(api, { name: 'Ada Lovelace' });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    // No internet: only the test server answers.
    await context.route('**/*', async (route) => {
      const url = route.request().url();
      if (servers.has(new URL(url).origin)) {
        await route.continue();
        return;
      }
      aborted.push(url);
      await route.abort('internetdisconnected');
    });
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error));
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await stopApps(api);
  });

  afterEach(() => {
    expect(pageErrors).toEqual([]);
    // The one error the page may log is the CDN script it could not load; never a CSP violation.
    expect(consoleErrors.filter((text) => !text.includes('ERR_INTERNET_DISCONNECTED'))).toEqual([]);
  });

  test('tries Apollo Sandbox from the CDN, then falls back to the bundled GraphiQL', async () => {
    await page.goto(graphqlUrl);
    await page.locator('main[data-state="graphiql-fallback"]').waitFor({ timeout: 30_000 });
    await expect(page.locator('#explorer-notice').textContent()).resolves.toContain('Apollo Sandbox could not be loaded');
    // Nothing but Sandbox's script was asked of the outside world: GraphiQL, its editor and workers came from the API.
    expect(aborted).toEqual([SANDBOX_SCRIPT]);
    await page.locator('.graphiql-query-editor', { hasText: 'query Me' }).waitFor();
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'explorer-offline.png') });
  });

  test('shows the @authorized rules in the docs pane', async () => {
    await page.click('[aria-label="Show Documentation Explorer"]');
    await page.locator('.graphiql-doc-explorer a', { hasText: /^Mutation$/ }).click();
    // The type's page lists each field with its description, the rule included.
    const setUserRole = page.locator('.graphiql-doc-explorer-item', { hasText: 'setUserRole' });
    await expect(setUserRole.textContent()).resolves.toContain('Authorization: @authorized(roles: [ADMIN]): a signed-in ADMIN');
    await page.locator('.graphiql-doc-explorer a', { hasText: /^setUserRole$/ }).click();
    const field = page.locator('.graphiql-doc-explorer');
    await field.locator('text=@authorized(roles: [ADMIN])').waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'explorer-docs.png') });
    await page.click('[aria-label="Hide Documentation Explorer"]');
  });

  test('runs `me` with a bearer token from the Headers tab', async () => {
    await typeInto('.graphiql-query-editor', '{ me { email name role } }');
    await page.click('button:has-text("Headers")');
    await typeInto('.graphiql-editor-tool', `{ "Authorization": "Bearer ${account.accessToken}" }`);
    const { request, body } = await run(account.email);

    expect(await request.headerValue('authorization')).toBe(`Bearer ${account.accessToken}`);
    expect(body).toEqual({ data: { me: { email: account.email, name: 'Ada Lovelace', role: 'USER' } } });
    await page.screenshot({ path: path.join(ARTIFACTS, 'explorer-bearer.png') });
  });

  test('in cookie mode, login sets the HttpOnly cookie and refreshToken without an argument is answered through it', async () => {
    await typeInto('.graphiql-editor-tool', '');
    await typeInto(
      '.graphiql-query-editor',
      `mutation { login(input: { email: "${account.email}", password: "${account.password}", tokenTransport: COOKIE }) { refreshToken user { email } } }`,
    );
    const login = await run(account.email);
    expect(login.body.data.login).toEqual({ refreshToken: null, user: { email: account.email } });
    const cookie = must(await refreshCookie(), 'the refresh cookie');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/graphql' });

    await typeInto('.graphiql-query-editor', 'mutation { refreshToken { refreshToken user { email name } } }');
    const refresh = await run('Ada Lovelace');
    // No token in the operation, none in a header: the browser sent the cookie, the API rotated it.
    expect(await refresh.request.headerValue('authorization')).toBeNull();
    expect(await refresh.request.headerValue('cookie')).toBe(`refresh_token=${cookie.value}`);
    expect(refresh.body).toEqual({ data: { refreshToken: { refreshToken: null, user: { email: account.email, name: 'Ada Lovelace' } } } });
    expect((await refreshCookie())?.value).not.toBe(cookie.value);
    await page.screenshot({ path: path.join(ARTIFACTS, 'explorer-cookie.png') });

    // The password typed into the login and the bearer token typed into the headers (GraphiQL's history
    // keeps both) are written to no storage of the browser: they go with the page.
    const stored = await page.evaluate<string>('JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage })');
    expect(stored).not.toContain(account.password);
    expect(stored).not.toContain(account.accessToken);
    expect(stored).not.toContain('tokenTransport');
  });

  test('with EXPLORER=graphiql, loads GraphiQL at once and asks nothing of the outside world', async () => {
    const graphiql = await startTestApp({ env: { EXPLORER: 'graphiql' } });
    servers.add(graphiql.url);
    try {
      const before = aborted.length;
      const other = await context.newPage();
      other.on('pageerror', (error) => pageErrors.push(error));
      await other.goto(`${graphiql.url}/graphql`);
      await other.locator('main[data-state="graphiql"]').waitFor({ timeout: 30_000 });
      await other.locator('.graphiql-query-editor', { hasText: 'query Me' }).waitFor();
      await expect(other.locator('#explorer-notice').count()).resolves.toBe(0);
      expect(aborted.slice(before)).toEqual([]);
      await other.close();
    } finally {
      await graphiql.stop();
    }
  });
});
