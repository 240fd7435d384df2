// Locates the real API specs the emulators validate against: vendored in this package (`specs/`, see its
// README), so the emulators work wherever the repository is cloned.
import fs from 'node:fs';
import path from 'node:path';

export const API_SPECS_DIR = path.resolve(__dirname, '../specs');

/** The specs folder, or a clear error if the package was installed without it. */
export function requireApiSpecsDir(): string {
  if (!fs.existsSync(API_SPECS_DIR)) throw new Error(`API specs not found: expected the vendored folder ${API_SPECS_DIR}`);
  return API_SPECS_DIR;
}
