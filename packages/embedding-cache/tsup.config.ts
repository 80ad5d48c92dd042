import { defineBuild } from '@lota/build-config/tsup';

export default defineBuild({ index: 'src/index.ts', 'ai-sdk': 'src/ai-sdk.ts', internal: 'src/internal.ts' });
