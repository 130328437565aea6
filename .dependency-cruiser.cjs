// `npm run depcheck` (in .ci/run): the direction of imports inside src/. Data flows one way:
// HTTP -> context -> resolver -> flow service -> owning modules -> building blocks.
// Type-only imports count too (tsPreCompilationDeps).

/** Building blocks: no knowledge of accounts, sessions, flows or transport. */
const BUILDING_BLOCKS =
  '^src/(access|credentials|validation|config)/|^src/(errors|logger)\\.ts$|^src/db/(uuid|database-unavailable|dead-connections)\\.ts$';
/** Modules that own tables (and the rate-limit store), with their resolvers and GraphQL types. */
const OWNING_MODULES = '^src/(users|sessions|audit|rate-limits|account-tokens|mail)/|^src/db/';
/** The flows that combine owning modules: sign-in, administration. */
const FLOWS = '^src/(auth|admin)/';
/** What assembles or serves the application. */
const TOP = '^src/(http|cli)/|^src/(app|main|schema|container)\\.ts$|^src/graphql/(format-error|limits|error-logging\\.plugin)\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycles make load order fragile and hide which module is lower.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'building-blocks-stay-low',
      severity: 'error',
      comment: 'Token codec, password hashing and policy, access rules, validation and configuration know nothing above them.',
      from: { path: BUILDING_BLOCKS },
      to: { path: [OWNING_MODULES, FLOWS, TOP, '^src/context\\.ts$', '^src/graphql/connection\\.ts$'] },
    },
    {
      name: 'no-flows-from-below',
      severity: 'error',
      comment: 'Users, sessions, audit, rate limits and the database never import from the flows.',
      from: { path: [BUILDING_BLOCKS, OWNING_MODULES, '^src/graphql/connection\\.ts$', '^src/context\\.ts$'] },
      to: { path: FLOWS },
    },
    {
      name: 'no-assembly-from-below',
      severity: 'error',
      comment: 'Only main.ts and the CLI start things; nothing below imports the app, the schema or HTTP.',
      from: { path: [BUILDING_BLOCKS, OWNING_MODULES, FLOWS] },
      to: { path: TOP },
    },
    {
      name: 'no-orphans',
      severity: 'error',
      comment: 'A module nothing imports is dead code (entry points excepted).',
      from: {
        orphan: true,
        path: '^src/',
        pathNot: ['^src/(main|cli/.+)\\.ts$', '\\.d\\.ts$', '^src/credentials/password\\.worker\\.js$'],
      },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
