import { isNode, parseDocument, stringify } from 'yaml';

/** The steps of a workflow as the YAML document the editor shows. */
export function stepsToYaml(steps: unknown[]): string {
  return steps.length === 0 ? '[]\n' : stringify(steps, { lineWidth: 0 });
}

/** Parses the editor's YAML into the steps array; throws with the line of a syntax error. */
export function yamlToSteps(text: string): unknown[] {
  const doc = parseDocument(text, { intAsBigInt: false });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    throw new Error(`YAML line ${first.linePos?.[0]?.line ?? '?'}: ${first.message.split('\n')[0]}`);
  }
  const value = doc.toJS() as unknown;
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) throw new Error('The steps document must be a YAML list of steps');
  return value;
}

/**
 * The character offset in `text` of the node a server error names (`steps.2.url: …` → the
 * `url` of the third step), falling back to the nearest existing parent; null when none.
 */
export function offsetOfPath(text: string, path: (string | number)[]): number | null {
  const doc = parseDocument(text);
  for (let length = path.length; length > 0; length -= 1) {
    const node = doc.getIn(path.slice(0, length), true);
    if (isNode(node) && node.range) return node.range[0];
    // A missing key: point at the map that should hold it.
  }
  return doc.contents && isNode(doc.contents) && doc.contents.range ? doc.contents.range[0] : null;
}

/** Splits a server detail `steps.1.url: message` into its path within the steps and the message. */
export function stepIssue(detail: string): { path: (string | number)[]; message: string } | null {
  const match = /^steps\.([^:]+): (.*)$/.exec(detail);
  if (match === null) return null;
  const path = match[1]!.split('.').map((part) => (/^\d+$/.test(part) ? Number(part) : part));
  return { path, message: match[2]! };
}
