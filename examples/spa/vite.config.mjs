// `vite examples/spa` (dev) and `vite preview examples/spa` (the build) both serve on
// http://localhost:5173, an origin the API allows by default outside production (CORS_ORIGINS).
import { defineConfig } from 'vite';

export default defineConfig({
  // One page for every path: /reset-password and /verify-email (the links of the API's mail, built
  // from APP_URL) and /forgot-password get index.html, which routes on location.pathname.
  appType: 'spa',
  server: { host: 'localhost', port: 5173, strictPort: true },
  preview: { host: 'localhost', port: 5173, strictPort: true },
});
