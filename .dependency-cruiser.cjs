/**
 * The folder rules of STYLE.md, checked on every `npm test`:
 * data flows server → bus → projections → live hub → web; the folders import the same way.
 */
const pure = '^(projections/(?!engine/)[^/]+/evolve\\.ts)$';
module.exports = {
  forbidden: [
    {
      name: 'shared-imports-nothing-of-ours',
      comment: 'shared/ is the contract: it runs in Node and the browser, so no Node API and nothing of ours outside it.',
      severity: 'error',
      from: { path: '^shared/' },
      to: { path: '^(server|projections|platform|web|test|bench|demo)/|^node:|^(fs|path|os|net|crypto|child_process|http|https|stream|timers)$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'shared-no-node-builtins',
      severity: 'error',
      from: { path: '^shared/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'projections-never-import-server',
      comment: 'projections/ and server/ meet through Redis and shared/ only; main.ts files (composition roots) may know both.',
      severity: 'error',
      // Tests may cross: they check the whole flow.
      from: { path: '^projections/', pathNot: '\\.test\\.ts$' },
      to: { path: '^server/' },
    },
    {
      name: 'server-never-imports-projection-internals',
      severity: 'error',
      from: { path: '^server/', pathNot: '(^|/)main\\.ts$|^server/eventdeck\\.ts$|\\.test\\.ts$' },
      to: { path: '^projections/' },
    },
    {
      name: 'pure-projections-stay-pure',
      comment: 'evolve.ts files import only shared/ and other pure code: no Redis, RxJS, clock or I/O.',
      severity: 'error',
      from: { path: pure },
      to: { pathNot: `^shared/|${pure}` },
    },
    {
      name: 'platform-imports-only-shared',
      comment: 'platform/ is Node plumbing (Redis client, Lua scripts) that server and projections share.',
      severity: 'error',
      from: { path: '^platform/' },
      to: { path: '^(server|projections|web|test|bench|demo)/' },
    },
    {
      name: 'web-imports-only-shared',
      severity: 'error',
      from: { path: '^web/' },
      to: { path: '^(server|projections|platform|test|bench|demo)/' },
    },
    {
      name: 'nothing-imports-test',
      severity: 'error',
      from: { pathNot: '^test/|\\.test\\.ts$' },
      to: { path: '^test/' },
    },
    {
      name: 'no-cycles',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.svelte'] },
  },
};
