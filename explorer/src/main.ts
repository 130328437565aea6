// The explorer page served on GET /graphql. `data-mode` (set by the server from EXPLORER):
// - `graphiql`: the bundled GraphiQL, served from this origin; nothing comes from elsewhere.
// - `sandbox`: Apollo's embedded Sandbox from Apollo's CDN; when its script fails or does not arrive
//   within SANDBOX_DEADLINE_MS (offline, a blocked CDN), the bundled GraphiQL instead.
import './explorer.css';
import { loadSandbox } from './sandbox';

/** How long the Sandbox script from Apollo's CDN may take before the page falls back to GraphiQL. */
const SANDBOX_DEADLINE_MS = 4000;

const root = document.getElementById('explorer');
if (!root) throw new Error('the page has no #explorer element');
const container: HTMLElement = root;
/** The GraphQL endpoint: the URL this page was served from, without its query string. */
const endpoint = `${location.origin}${location.pathname}`;

async function showGraphiql(notice?: string): Promise<void> {
  // Loaded only when needed: Sandbox users never download the editor.
  const { mountGraphiql } = await import('./graphiql');
  await mountGraphiql(container, endpoint, notice);
}

async function start(): Promise<void> {
  if (container.dataset.mode !== 'sandbox') {
    await showGraphiql();
    return;
  }
  const loaded = await loadSandbox(container, endpoint, SANDBOX_DEADLINE_MS);
  if (loaded) {
    container.dataset.state = 'sandbox';
    return;
  }
  await showGraphiql('Apollo Sandbox could not be loaded from Apollo’s CDN (offline?): this is the GraphiQL bundled with the API.');
}

start().catch((error: unknown) => {
  container.dataset.state = 'failed';
  container.textContent = `The explorer failed to start: ${String(error)}`;
});
