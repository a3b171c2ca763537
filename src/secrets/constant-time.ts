import { hash, timingSafeEqual } from 'node:crypto';

/**
 * SHA-256 of a secret. Comparing digests instead of the secrets makes every comparison the same
 * length, so a guess of another length costs the same time and can never throw.
 */
export function secretDigest(secret: string | Buffer): Buffer {
  return hash('sha256', secret, 'buffer');
}

/** Constant-time check of a presented secret against the digests of every valid one. */
export function matchesAnyDigest(presented: string, validDigests: readonly Buffer[]): boolean {
  const digest = secretDigest(presented);
  let matched = false;
  // Compare against every digest, without stopping early, so timing doesn't reveal which matched.
  for (const valid of validDigests) {
    if (timingSafeEqual(digest, valid)) matched = true;
  }
  return matched;
}
