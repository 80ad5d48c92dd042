import { defineBuild } from '@lota/build-config/tsup';

// Two entry points over one set of modules: shared chunks, so a process that loads both has one reaper and one backend choice.
export default defineBuild(['src/index.ts', 'src/vitest.ts'], { splitting: true });
