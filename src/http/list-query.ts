import { z } from 'zod';
import { HookflowError } from '../errors/catalogue.js';
import type { PageRequest } from '../store/store.js';

/** `?limit=&cursor=` of every list. */
export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().min(1).max(512).optional(),
});
/** Parses a query string with `schema`; a bad one is a 400 naming the fields. */
export function parseQuery<T extends z.ZodTypeAny>(schema: T, query: unknown): z.output<T> {
  const parsed = schema.safeParse(query);
  if (!parsed.success) {
    throw new HookflowError('HOOKFLOW_ERR_VALIDATION', 'Invalid query', { details: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) });
  }
  return parsed.data as z.output<T>;
}

/** The store's page request from a parsed `pageQuery`. */
export const pageOf = (query: { limit: number; cursor?: string | undefined }): PageRequest => ({ limit: query.limit, cursor: query.cursor });

