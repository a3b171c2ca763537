/**
 * A storage failure in words an operator acts on ("disk full", "database locked"), from the
 * driver's error code; the driver's own message follows in parentheses. Used by /readyz and in
 * the message of STORAGE_UNAVAILABLE errors. Never includes data from the request.
 */
export function describeStorageFailure(code: string | undefined, message: string): string {
  return `${causeOf(code)} (${code === undefined ? '' : `${code}: `}${message})`;
}

function causeOf(code: string | undefined): string {
  if (code === undefined) return 'storage error';
  if (code === 'ENOSPC' || code.startsWith('SQLITE_FULL') || code === '53100') return 'disk full';
  if (code === 'EDQUOT') return 'disk quota exceeded';
  if (code === 'EROFS' || code.startsWith('SQLITE_READONLY') || code === '25006') return 'storage is read-only';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED') || code === '55P03' || code === '40P01') return 'database locked';
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT' || code === 'ENOTFOUND' || code.startsWith('57P') || code.startsWith('08')) return 'database unreachable';
  if (code === 'EIO' || code.startsWith('SQLITE_IOERR')) return 'I/O error';
  if (code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_NOTADB')) return 'database file corrupt';
  return 'storage error';
}
