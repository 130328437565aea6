// The example SPA (examples/spa) for the browser tests: built with the root's Vite against one API,
// served as `vite preview` would serve it, on a port of the loopback interface.
import { execFile } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import express from 'express';
import type { Page, Response } from 'playwright-core';

const ROOT = path.resolve(__dirname, '../..');

/** The paths of the SPA besides `/`: the mailed links point at the last two (APP_URL + path). */
export const SPA_ROUTES = ['/forgot-password', '/reset-password', '/verify-email'];

/** Builds the SPA with the root's Vite, pointed at this API. */
export async function buildSpa(outDir: string, apiUrl: string): Promise<void> {
  await promisify(execFile)(
    process.execPath,
    [path.join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', 'examples/spa', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'],
    { cwd: ROOT, env: { ...process.env, VITE_API_URL: apiUrl } },
  );
}

/**
 * Serves the build, and its index.html on the SPA's own paths too, as `vite preview` does
 * (appType 'spa'). Only those: the probe page under /graphql stays a page without the app.
 * It listens on 127.0.0.1; `hostname` names the origin the pages are opened from (`localhost`
 * where WebAuthn needs the page's host to be the RP id).
 */
export async function serveSpa(dir: string, hostname = '127.0.0.1'): Promise<{ server: Server; origin: string }> {
  const app = express();
  app.use(express.static(dir));
  app.get(SPA_ROUTES, (_req, res) => {
    res.sendFile(path.join(dir, 'index.html'));
  });
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => {
      resolve(listening);
    });
  });
  return { server, origin: `http://${hostname}:${String((server.address() as AddressInfo).port)}` };
}

/** One GraphQL POST the page made, as the network saw it. */
export interface GraphQLExchange {
  operationName: string;
  authorization: string | undefined;
  cookie: string | undefined;
  setCookie: string | null;
  body: {
    data?: Record<string, any> | null;
    errors?: { extensions?: { code?: string; reason?: string; fields?: Record<string, string>; mfaToken?: string } }[];
  };
}

/**
 * A page of the SPA as the browser tests drive it: every GraphQL POST it makes is recorded (with
 * its body, read before a navigation drops it), page errors are kept, and actions wait for the
 * page to settle in a state (the SPA's `main[data-state]`).
 */
export class SpaPage<State extends string> {
  private exchanges: Promise<GraphQLExchange>[] = [];
  readonly pageErrors: Error[] = [];

  constructor(
    readonly page: Page,
    private readonly graphqlUrl: string,
  ) {
    page.on('pageerror', (error) => this.pageErrors.push(error));
    page.on('response', (response) => {
      if (response.url() === graphqlUrl && response.request().method() === 'POST') this.exchanges.push(SpaPage.record(response));
    });
  }

  private static async record(response: Response): Promise<GraphQLExchange> {
    const request = response.request();
    // The body first: Chromium drops it once the page navigates away.
    const body = response.json();
    return {
      operationName: (request.postDataJSON() as { operationName: string }).operationName,
      authorization: (await request.headerValue('authorization')) ?? undefined,
      cookie: (await request.headerValue('cookie')) ?? undefined,
      setCookie: await response.headerValue('set-cookie'),
      body: (await body) as GraphQLExchange['body'],
    };
  }

  /** The GraphQL requests the page made since the last call, in order. */
  async traffic(): Promise<GraphQLExchange[]> {
    const seen = await Promise.all(this.exchanges);
    this.exchanges = [];
    return seen;
  }

  /** Resolves once every request seen so far is recorded (before the page navigates away). */
  async recorded(): Promise<void> {
    await Promise.all(this.exchanges);
  }

  /** Waits for the page to settle in `state`. */
  async settled(state: State): Promise<void> {
    await this.page.locator(`main[data-state="${state}"]`).waitFor({ timeout: 20_000 });
  }

  /** Clicks `selector`, waits for the answer to the GraphQL operation it sends, then for the page to settle in `state`. */
  async submit(selector: string, operationName: string, state: State): Promise<void> {
    const answered = this.page.waitForResponse(
      (response) =>
        response.url() === this.graphqlUrl &&
        response.request().method() === 'POST' &&
        (response.request().postDataJSON() as { operationName?: string }).operationName === operationName,
    );
    await this.page.click(selector);
    await answered;
    await this.settled(state);
  }

  text(selector: string): Promise<string | null> {
    return this.page.locator(selector).textContent();
  }
}
