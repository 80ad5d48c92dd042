import { defineBuild } from '@lota/build-config/tsup';

// A program, not a library: ESM files to run with node, no type declarations.
// main.js is the soak driver (`pnpm --filter @lota/soak run soak`); worker.js is the worker
// process it starts (and SIGKILLs) several times over.
export default defineBuild(['src/main.ts', 'src/worker.ts'], { format: ['esm'], dts: false });
