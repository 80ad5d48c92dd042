export { default } from '@lota/eslint-config';
