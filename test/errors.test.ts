import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERRORS } from '../src/errors/catalogue.js';

describe('error catalogue', () => {
  it('documents every code in docs/errors.md with its status', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', 'docs', 'errors.md'), 'utf8');
    const undocumented = Object.entries(ERRORS).filter(([code, { status }]) => !readme.includes(`| \`${code}\` | ${status} |`));
    expect(undocumented.map(([code]) => code)).toEqual([]);
  });
});
