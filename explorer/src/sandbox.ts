// Apollo's embedded Sandbox, as @apollo/server's own landing page embeds it: the script from Apollo's
// CDN, the IDE in an iframe of sandbox.embed.apollographql.com, requests sent from this page (so the
// refresh cookie of this origin goes along: includeCookies).
const SANDBOX_SCRIPT = 'https://embeddable-sandbox.cdn.apollographql.com/v2/embeddable-sandbox.umd.production.min.js';

interface EmbeddedSandboxOptions {
  target: string | HTMLElement;
  initialEndpoint: string;
  initialState: { includeCookies: boolean };
  hideCookieToggle: boolean;
  endpointIsEditable: boolean;
  runTelemetry: boolean;
  allowDynamicStyles: boolean;
}

declare global {
  interface Window {
    EmbeddedSandbox?: new (options: EmbeddedSandboxOptions) => unknown;
  }
}

/**
 * Loads the Sandbox script and embeds Sandbox in `target`. Resolves true once embedded; false when the
 * script fails or has not arrived within `deadlineMs` (a late script is then ignored).
 */
export function loadSandbox(target: HTMLElement, endpoint: string, deadlineMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    const script = document.createElement('script');
    const settle = (embedded: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!embedded) script.remove();
      resolve(embedded);
    };
    const timer = setTimeout(() => {
      settle(false);
    }, deadlineMs);
    script.src = SANDBOX_SCRIPT;
    script.onerror = () => {
      settle(false);
    };
    script.onload = () => {
      if (settled || !window.EmbeddedSandbox) {
        settle(false);
        return;
      }
      target.classList.add('sandbox');
      new window.EmbeddedSandbox({
        target,
        initialEndpoint: endpoint,
        initialState: { includeCookies: true },
        hideCookieToggle: false,
        endpointIsEditable: false,
        runTelemetry: false,
        allowDynamicStyles: false,
      });
      settle(true);
    };
    document.head.append(script);
  });
}
