import { createContext, useContext } from 'react';

/** Who is signed in (GET /api/session). */
export interface SessionInfo {
  actor: { id: string; name: string };
  role: 'viewer' | 'editor' | 'admin';
  workspaceId: string | null;
  csrfToken: string | null;
  expiresAt: string | null;
}

export const SessionContext = createContext<SessionInfo | null>(null);

/** The signed-in session; pages render only inside one. */
export function useSession(): SessionInfo {
  const session = useContext(SessionContext);
  if (session === null) throw new Error('no session');
  return session;
}

/** True when the session may change things (editor or admin): the viewer sees no edit controls. */
export function useCanEdit(): boolean {
  const role = useSession().role;
  return role === 'editor' || role === 'admin';
}
