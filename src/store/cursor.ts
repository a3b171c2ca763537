import type { Page } from './store.js';

/** A position in a newest-first list ordered by (time DESC, id DESC). Opaque to callers. */
export interface CursorPosition {
  time: number;
  id: string;
}

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(`${position.time}:${position.id}`, 'utf8').toString('base64url');
}

/** Returns null for a cursor that is not one of ours (the caller answers 400). */
export function decodeCursor(cursor: string): CursorPosition | null {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0) return null;
  const time = Number(text.slice(0, colon));
  const id = text.slice(colon + 1);
  // Ids are printable; a control character (PostgreSQL refuses a NUL outright) is not one of ours.
  if (!Number.isSafeInteger(time) || id.length === 0 || /[\u0000-\u001f]/.test(id)) return null;
  return { time, id };
}

/** Builds a page from `limit + 1` fetched rows: the extra row only says there is more. */
export function pageOf<T>(rows: T[], limit: number, positionOf: (item: T) => CursorPosition): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(positionOf(last)) : null };
}
