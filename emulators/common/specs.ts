// Locates the real API specs (the read-only `shared/api-specs` folder beside the project, or CT_API_SPECS_DIR).
import fs from 'node:fs';
import path from 'node:path';

export function apiSpecsDir(): string | undefined {
  const candidates = [
    process.env.CT_API_SPECS_DIR,
    path.resolve(__dirname, '../../../shared/api-specs'),
  ].filter((p): p is string => !!p);
  return candidates.find((p) => fs.existsSync(p));
}

/** The specs folder, or a clear error naming where it was looked for. */
export function requireApiSpecsDir(): string {
  const dir = apiSpecsDir();
  if (!dir) {
    throw new Error(
      'API specs not found: set CT_API_SPECS_DIR to the api-specs folder (expected ../shared/api-specs beside the project)',
    );
  }
  return dir;
}
