import { z } from 'zod';
import { GUEST_SCRIPT_FILENAME, GUEST_SCRIPT_LINE_OFFSET } from './guest-prelude.js';

/** Where in a run the guest failed; decides the wording of the message. */
export type FailureKind = 'setup' | 'compile' | 'run' | 'output';

/** What the prelude's `describe(thrown)` reports: an Error's parts, or any other thrown value as text. */
const thrownSchema = z.object({
  name: z.string().optional(),
  message: z.string().optional(),
  stack: z.string().optional(),
  value: z.string().optional(),
  isNull: z.boolean().optional(),
});
/** A thrown value as described by the guest prelude (all fields optional, untrusted). */
export type Thrown = z.infer<typeof thrownSchema>;

/** Parses the prelude's description of a thrown value; `undefined` if it is not one. */
export function parseThrown(text: string): Thrown | undefined {
  try {
    const parsed = thrownSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The user's line from a QuickJS stack trace: the first frame in the compiled script. */
function scriptLine(stack: string | undefined): number | undefined {
  const frame = stack?.split('\n').find((line) => line.includes(`${GUEST_SCRIPT_FILENAME}:`));
  const match = frame === undefined ? null : /:(\d+):\d+\)?\s*$/.exec(frame);
  if (match === null) return undefined;
  const line = Number(match[1]) - GUEST_SCRIPT_LINE_OFFSET;
  return line >= 1 ? line : undefined;
}

/**
 * The step-log message for a guest failure that was not a timeout. `growRefused` says the
 * module's memory ceiling was hit during the run: QuickJS then throws either its
 * "out of memory" InternalError or, when it cannot even allocate that, `null`.
 */
export function failureMessage(kind: FailureKind, thrown: Thrown | undefined, growRefused: boolean): string {
  const outOfMemory =
    (thrown?.name === 'InternalError' && thrown.message === 'out of memory') ||
    ((thrown === undefined || thrown.isNull === true) && growRefused);
  if (outOfMemory) return 'Script exceeded memory limit';
  if (thrown === undefined) return 'Script failed and its error could not be read';
  if (thrown.name === 'InternalError' && thrown.message === 'stack overflow') {
    return 'Script exceeded the maximum call stack size (too much recursion)';
  }
  if (thrown.isNull === true) return 'Script threw: null (QuickJS also throws null when out of memory)';
  const what = thrown.name === undefined ? (thrown.value ?? '') : `${thrown.name}: ${thrown.message ?? ''}`;
  const line = scriptLine(thrown.stack);
  const where = line === undefined ? '' : ` (line ${line})`;
  switch (kind) {
    case 'setup':
      return `Script sandbox could not start: ${what}`;
    case 'output':
      return `Script returned a value that is not JSON-serialisable (${thrown.message ?? what})`;
    case 'compile':
      // Compiling can run code too (a body may close its wrapper early), so only a
      // SyntaxError is a syntax error.
      if (thrown.name === 'SyntaxError') return `Script has a syntax error: ${what}${where}`;
      return `Script threw: ${what}${where}`;
    case 'run':
      return `Script threw: ${what}${where}`;
  }
}
