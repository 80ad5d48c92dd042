import { defineBuild } from '@lota/build-config/tsup';

export default defineBuild({ index: 'src/index.ts', conformance: 'src/conformance.ts' });
