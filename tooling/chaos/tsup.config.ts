import { defineBuild } from '@lota/build-config/tsup';

// Programs, not a library: main.js is the campaign (`pnpm chaos`), worker.js the worker process
// each schedule starts (and stops, kills and blocks); index.js is the API the tests drive.
export default defineBuild(['src/main.ts', 'src/worker.ts', 'src/index.ts'], { format: ['esm'], dts: false });
