import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { roleAllows, type Role, type Session } from './api.js';

/** The signed-in person; every page below the sign-in page has one. */
export const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session | undefined {
  return useContext(SessionContext);
}

/** True when the signed-in role may do what needs `role`; operator actions hide otherwise. */
export function useCan(role: Role): boolean {
  return roleAllows(useContext(SessionContext)?.role, role);
}
