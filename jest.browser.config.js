// `npm run test:browser`: the example SPA in headless Chromium (test/browser/*.browser.ts), kept out
// of `npm test` because it needs Debian's Chromium at /usr/bin/chromium (or CHROMIUM_PATH).
// eslint-disable-next-line @typescript-eslint/no-require-imports -- Jest loads this CommonJS file as is
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testMatch: ['**/browser/*.browser.ts'],
  testTimeout: 120_000,
  maxWorkers: 1,
};
