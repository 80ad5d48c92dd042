import base from '@lota/eslint-config';

export default [
  ...base,
  // Test tooling indexes arrays it has just built; non-null assertions read better than guards here.
  { rules: { '@typescript-eslint/no-non-null-assertion': 'off' } },
];
