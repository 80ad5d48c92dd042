import { defineBuild } from '@lota/build-config/tsup';

// A program, not a library: ESM entry points to run with node, no type declarations.
// api.js is the HTTP process, worker.js a worker process, demo.js the `npm run demo` walkthrough.
// The demo loads @lota/redis-testkit (a dev dependency) only to start a Redis: kept out of the bundle.
export default defineBuild(['src/api.ts', 'src/worker.ts', 'src/demo.ts'], { format: ['esm'], dts: false, external: ['@lota/redis-testkit'] });
