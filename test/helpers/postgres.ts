import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, it } from 'vitest';

/** The test server: `HOOKFLOW_TEST_DATABASE_URL`, else the machines' local PostgreSQL. */
export const TEST_DATABASE_URL = process.env.HOOKFLOW_TEST_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';

/** With `HOOKFLOW_REQUIRE_PG=1` (CI), an unreachable server fails the run instead of skipping. */
const REQUIRE_PG = process.env.HOOKFLOW_REQUIRE_PG === '1';

/** A schema of its own on the test server, for one test file. */
export interface TestSchema {
  name: string;
  /** TEST_DATABASE_URL with `options=-c search_path=<name>`, so every connection lands in the schema. */
  connectionString: string;
  /** Drops the schema and everything in it. */
  drop(): Promise<void>;
}

/** The URL without its password, for messages. */
function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

async function withClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Null when the test server answers, else why not. */
export async function probePostgres(): Promise<string | null> {
  try {
    await withClient((client) => client.query('SELECT 1'));
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Creates a fresh, uniquely named schema; the caller drops it in afterAll. */
export async function createTestSchema(): Promise<TestSchema> {
  const name = `hookflow_test_${randomBytes(6).toString('hex')}`;
  await withClient((client) => client.query(`CREATE SCHEMA ${name}`));
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${name}`);
  return {
    name,
    connectionString: url.toString(),
    drop: () => withClient((client) => client.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`)).then(() => undefined),
  };
}

/**
 * Registers `body` as a describe block when the test server answers. Otherwise the block is
 * skipped with a warning — or, under HOOKFLOW_REQUIRE_PG=1, replaced by one failing test, so a
 * CI that promised PostgreSQL cannot pass by skipping it.
 */
export async function describeWithPostgres(name: string, body: () => void): Promise<void> {
  const problem = await probePostgres();
  if (problem === null) {
    describe(name, body);
    return;
  }
  const message = `PostgreSQL not reachable at ${displayUrl(TEST_DATABASE_URL)} (${problem}); skipping`;
  if (REQUIRE_PG) {
    describe(name, () => {
      it('needs PostgreSQL (HOOKFLOW_REQUIRE_PG=1)', () => {
        throw new Error(message.replace(/; skipping$/, ''));
      });
    });
    return;
  }
  console.warn(message);
  describe.skip(name, body);
}
