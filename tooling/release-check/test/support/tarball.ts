import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/**
 * The regular files of a `.tgz` made by `pnpm pack` (ustar), by path (`package/...`). Small
 * enough to read whole; no `tar` binary needed.
 */
export function readTarball(path: string): Map<string, Buffer> {
  const data = gunzipSync(readFileSync(path));
  const files = new Map<string, Buffer>();
  const field = (at: number, len: number): string => {
    const raw = data.subarray(at, at + len);
    const end = raw.indexOf(0);
    return raw.subarray(0, end === -1 ? len : end).toString('utf8');
  };
  let offset = 0;
  let longName: string | undefined;
  while (offset + 512 <= data.length) {
    if (data.subarray(offset, offset + 512).every((b) => b === 0)) break; // end-of-archive blocks
    const name = field(offset, 100);
    const size = parseInt(field(offset + 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(data[offset + 156] ?? 0);
    const prefix = field(offset + 345, 155);
    const body = data.subarray(offset + 512, offset + 512 + size);
    if (type === 'L') {
      longName = body.toString('utf8').replace(/\0+$/, ''); // GNU long name for the next entry
    } else {
      const full = longName ?? (prefix ? `${prefix}/${name}` : name);
      longName = undefined;
      if (type === '0' || type === '\0' || type === '') files.set(full, Buffer.from(body));
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

/** The `package.json` inside a packed tarball, parsed. */
export function packedManifest(path: string): PackageJson {
  const raw = readTarball(path).get('package/package.json');
  if (!raw) throw new Error(`${path} has no package/package.json`);
  return JSON.parse(raw.toString('utf8')) as PackageJson;
}

export interface PackageJson {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  repository?: unknown;
  type?: string;
  main?: string;
  module?: string;
  types?: string;
  files?: string[];
  exports?: Record<string, unknown>;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  optionalDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  overrides?: Record<string, string>;
}
