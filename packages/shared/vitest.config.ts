import { defineTestConfig } from '@lota/build-config/vitest';

export default defineTestConfig();
