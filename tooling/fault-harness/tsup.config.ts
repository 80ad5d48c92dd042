import { defineBuild } from '@lota/build-config/tsup';

export default defineBuild();
