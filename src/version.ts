import { ApiError, IServerInfo, fetchInfo } from './api/client';
import { API_VERSION } from './api/types';

export { API_VERSION };

declare const require: (id: string) => { version: string };

/** The frontend's own version, from package.json (the Python package takes its version from the same file). */
export const FRONTEND_VERSION: string = require('../package.json').version;

/** The outcome of the version handshake with the server extension. */
export type ServerStatus =
  | { kind: 'ok'; info: IServerInfo }
  | { kind: 'missing'; message: string }
  | { kind: 'mismatch'; info: IServerInfo; message: string }
  | { kind: 'error'; message: string };

/** Ask the server extension for its version and decide whether this frontend may talk to it. */
export async function checkServer(): Promise<ServerStatus> {
  let info: IServerInfo;
  try {
    info = await fetchInfo();
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      return {
        kind: 'missing',
        message:
          'The kale_ext server extension is not running. Enable it with ' +
          '"jupyter server extension enable kale_ext" and restart JupyterLab.'
      };
    }
    return {
      kind: 'error',
      message: String((error as Error).message ?? error)
    };
  }
  if (info.version !== FRONTEND_VERSION || info.api_version !== API_VERSION) {
    return {
      kind: 'mismatch',
      info,
      message:
        `The kale_ext server extension is version ${info.version} (API ${info.api_version}) but this ` +
        `frontend is ${FRONTEND_VERSION} (API ${API_VERSION}). Reinstall kale_ext so both halves match, ` +
        'then restart JupyterLab.'
    };
  }
  return { kind: 'ok', info };
}
