import { defineBuild } from '@lota/build-config/tsup';

// A program, not a library: one ESM file to run with `node dist/main.js`, no type declarations.
export default defineBuild(['src/main.ts'], { format: ['esm'], dts: false });
