import { useCallback, useEffect, useState } from 'react';
import { api, ApiError } from '../api';

/** Loads `path` (GET) and reloads on `reload()`; `path` null loads nothing. */
export function useLoad<T>(path: string | null): { data: T | undefined; error: ApiError | null; reload: () => void; setData: (update: (old: T | undefined) => T | undefined) => void } {
  const [data, setState] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === null) return;
    let live = true;
    api<T>('GET', path).then(
      (value) => live && (setState(() => value), setError(null)),
      (failure: ApiError) => live && setError(failure),
    );
    return () => {
      live = false;
    };
  }, [path, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  const setData = useCallback((update: (old: T | undefined) => T | undefined) => setState(update), []);
  return { data, error, reload, setData };
}

/** An API error, with the server's field details. */
export function ErrorBox(props: { error: unknown }) {
  if (props.error === null || props.error === undefined) return null;
  const error = props.error as ApiError;
  return (
    <div role="alert" className="alert error">
      <strong>{error.status === 403 ? 'Not allowed' : 'Error'}:</strong> {error.message}
      {Array.isArray(error.details) && error.details.length > 0 && <ul>{error.details.map((d) => <li key={d}>{d}</li>)}</ul>}
    </div>
  );
}

/** A coloured status word (never colour alone: the word is the information). */
export function Badge(props: { status: string; label?: string }) {
  return <span className={`badge ${props.status}`}>{props.label ?? props.status}</span>;
}

/** Copies `text` to the clipboard; says so for screen readers too. */
export function CopyButton(props: { text: string; label: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      className="btn"
      aria-label={props.label}
      onClick={() => {
        void navigator.clipboard.writeText(props.text).then(() => {
          setDone(true);
          setTimeout(() => setDone(false), 1500);
        });
      }}
    >
      {done ? 'Copied' : 'Copy'}
      <span role="status" className="skip">{done ? 'Copied' : ''}</span>
    </button>
  );
}

/** A time as the viewer's locale shows it. */
export function when(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '—';
}

/** Milliseconds between two ISO times, or null. */
export function msBetween(from: string | null | undefined, to: string | null | undefined): number | null {
  return from && to ? new Date(to).getTime() - new Date(from).getTime() : null;
}
