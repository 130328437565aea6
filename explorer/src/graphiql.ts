// GraphiQL, bundled with its editor (Monaco) and the editor's web workers: every file comes from this
// origin. Requests go to the endpoint with the browser's cookies of this origin (cookie mode's refresh
// cookie, scoped to /graphql). Nothing typed is written to the browser's storage: GraphiQL's history
// keeps each query with its headers, and queries here carry passwords (login) and tokens (headers,
// refreshToken(token:)); tabs and history live in memory and go with the page.
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import { buildClientSchema, type GraphQLSchema, type IntrospectionQuery } from 'graphql';
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';

/** GraphiQL's storage (tabs, history, settings) in memory instead of localStorage. */
class MemoryStorage {
  private readonly items = new Map<string, string>();

  get length(): number {
    return this.items.size;
  }

  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }

  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }

  removeItem(key: string): void {
    this.items.delete(key);
  }

  clear(): void {
    this.items.clear();
  }
}

/** The schema for the Docs pane, with each field's `@authorized` rule in its description. */
const SCHEMA_URL = '/explorer/schema.json';

const DEFAULT_QUERY = `# GraphiQL, bundled with this API: it works offline.
#
# Bearer mode: run login (or signup), then put its accessToken in the Headers tab below:
#   { "Authorization": "Bearer <accessToken>" }
# Cookie mode: login with tokenTransport: COOKIE, then refreshToken without an argument:
#   the browser sends the HttpOnly refresh cookie itself.
# The Docs pane (book icon) shows who may use each field: its @authorized rule.

query Me {
  me {
    id
    email
    name
    role
  }
}
`;

/**
 * The schema the server publishes for the explorer; null where it publishes none (introspection off,
 * as in production): GraphiQL then runs queries without docs or completion.
 */
async function loadSchema(): Promise<GraphQLSchema | null> {
  const response = await fetch(SCHEMA_URL, { credentials: 'omit', headers: { accept: 'application/json' } });
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`${SCHEMA_URL} answered ${String(response.status)}`);
  const { data } = (await response.json()) as { data: IntrospectionQuery };
  return buildClientSchema(data);
}

export async function mountGraphiql(container: HTMLElement, endpoint: string, notice?: string): Promise<void> {
  const schema = await loadSchema();
  const fetcher = createGraphiQLFetcher({
    url: endpoint,
    // Same origin: the refresh cookie (HttpOnly, SameSite=Strict, Path=/graphql) goes along.
    fetch: (input, init) => fetch(input, { ...init, credentials: 'same-origin' }),
  });
  container.replaceChildren();
  if (notice) {
    const banner = document.createElement('p');
    banner.id = 'explorer-notice';
    banner.textContent = notice;
    container.append(banner);
  }
  const host = document.createElement('div');
  host.className = 'graphiql-host';
  container.append(host);
  createRoot(host).render(
    createElement(GraphiQL, {
      fetcher,
      schema,
      defaultQuery: DEFAULT_QUERY,
      storage: new MemoryStorage(),
      shouldPersistHeaders: false,
      showPersistHeadersSettings: false,
      defaultEditorToolsVisibility: 'headers',
    }),
  );
  container.dataset.state = notice ? 'graphiql-fallback' : 'graphiql';
}
