/** The deploy menu's backends, from GET info's `backends`. Pure. */
import { IServerBackend } from '../api/types';

/** null when the server lists the backend enabled, else the server's reason (or that it has no such backend). */
export function backendReason(
  backends: readonly IServerBackend[],
  name: string
): string | null {
  const backend = backends.find(b => b.name === name);
  if (!backend) {
    return `This server has no ${name} backend; update kale_ext and restart JupyterLab.`;
  }
  return backend.enabled ? null : (backend.reason ?? 'disabled on the server');
}
