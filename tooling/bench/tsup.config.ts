import { defineBuild } from '@lota/build-config/tsup';

// A program, not a library: ESM files to run with `node dist/main.js`, no type declarations.
// `lock-child.js` is the other side of the lock suite's 2-process cases, `fairness-child.js` a
// worker process of the fairness suite (both spawned by main.js).
export default defineBuild({ main: 'src/main.ts', 'lock-child': 'src/lock/child.ts', 'fairness-child': 'src/fairness/child.ts' }, { format: ['esm'], dts: false });
