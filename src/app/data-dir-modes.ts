import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_TOKEN_FILE } from '../secrets/admin-token.js';
import { MASTER_KEY_FILE, PREVIOUS_MASTER_KEY_FILE } from '../secrets/master-key-file.js';
import { SQLITE_FILE } from '../store/sqlite/sqlite-store.js';

/** A file or directory in the data dir that others than its owner may read, write or enter. */
export interface LooseMode {
  path: string;
  /** Its permission bits, e.g. 0o644. */
  mode: number;
  /** What hookflow creates it with: 0o700 for the directory, 0o600 for files. */
  expected: number;
}

/** Files hookflow keeps in the data dir; each holds secrets or received payloads. */
const PRIVATE_FILES = [
  SQLITE_FILE,
  `${SQLITE_FILE}-wal`,
  `${SQLITE_FILE}-shm`,
  MASTER_KEY_FILE,
  PREVIOUS_MASTER_KEY_FILE,
  ADMIN_TOKEN_FILE,
];

/**
 * Lists the data dir and the files in it whose mode lets group or others in. hookflow creates
 * them owner-only; a looser mode comes from an operator or an older version, so it is reported
 * (a warning at start) rather than changed behind the operator's back. Missing files are skipped.
 */
export function findLooseModes(dataDir: string): LooseMode[] {
  if (process.platform === 'win32') return []; // POSIX modes mean nothing there
  const loose: LooseMode[] = [];
  const inspect = (path: string, expected: number) => {
    let mode: number;
    try {
      mode = lstatSync(path).mode & 0o777;
    } catch {
      return;
    }
    if ((mode & 0o077) !== 0) loose.push({ path, mode, expected });
  };
  inspect(dataDir, 0o700);
  for (const file of PRIVATE_FILES) inspect(join(dataDir, file), 0o600);
  return loose;
}

/** `0o644` as `0644`, the way `ls` and `chmod` spell it. */
export function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}
