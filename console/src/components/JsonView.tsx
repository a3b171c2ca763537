import { ExactNumber } from '../api';

/**
 * A JSON value as a collapsible tree. Numbers keep the digits they arrived with (ExactNumber),
 * strings are shown as strings; nothing is evaluated.
 */
export function JsonView(props: { value: unknown; label?: string }) {
  return (
    <div className="json-tree" aria-label={props.label}>
      <Node value={props.value} depth={0} />
    </div>
  );
}

function Node(props: { value: unknown; depth: number }) {
  const { value, depth } = props;
  if (value instanceof ExactNumber) return <span className="num">{value.source}</span>;
  if (value === null || typeof value !== 'object') return <span>{JSON.stringify(value)}</span>;
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value as Record<string, unknown>);
  const open = Array.isArray(value) ? '[' : '{';
  const close = Array.isArray(value) ? ']' : '}';
  if (entries.length === 0) return <span>{open + close}</span>;
  return (
    <details open={depth < 2}>
      <summary>{open} {entries.length} {Array.isArray(value) ? 'items' : 'keys'} {close}</summary>
      <ul>
        {entries.map(([key, child]) => (
          <li key={key}>
            <span className="k">{Array.isArray(value) ? key : JSON.stringify(key)}</span>: <Node value={child} depth={depth + 1} />
          </li>
        ))}
      </ul>
    </details>
  );
}

/** A request body as stored: JSON tree, text, or a summary of binary content. */
export function BodyView(props: { body: unknown }) {
  const body = props.body;
  const b = body as Record<string, unknown> | null;
  if (b !== null && typeof b === 'object' && b['encoding'] === 'base64' && typeof b['data'] === 'string') {
    const bytes = Math.floor((b['data'].length * 3) / 4);
    return <p className="muted">Binary body: about {bytes} bytes of {String(b['contentType'] ?? 'unknown type')} (base64 stored)</p>;
  }
  if (typeof body === 'string') return <pre>{body}</pre>;
  return <JsonView value={body} label="Body" />;
}
