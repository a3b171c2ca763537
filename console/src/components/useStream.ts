import { useEffect, useRef, useState } from 'react';
import { parseExact, seg } from '../api';

/** One message of a workflow's live stream (GET …/stream). */
export type StreamMessage = { type: 'event' | 'refused' | 'run'; data: any };

/**
 * Follows a workflow's live stream (server-sent events on the session cookie) and calls
 * `onMessage` for each change. Reconnects as EventSource does; `live` tells whether connected.
 */
export function useWorkflowStream(ws: string, wf: string, onMessage: (message: StreamMessage) => void): boolean {
  const handler = useRef(onMessage);
  handler.current = onMessage;
  const [live, setLive] = useState(false);
  useEffect(() => {
    const source = new EventSource(`/api/workspaces/${seg(ws)}/workflows/${seg(wf)}/stream`);
    source.onopen = () => setLive(true);
    source.onerror = () => setLive(false);
    for (const type of ['event', 'refused', 'run'] as const) {
      source.addEventListener(type, (event) => handler.current({ type, data: parseExact((event as MessageEvent<string>).data) }));
    }
    return () => source.close();
  }, [ws, wf]);
  return live;
}
