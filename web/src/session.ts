/** The signed-in session (token and device) and data loading for the pages. */
import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, apiGet, type Params } from './api.js';

export interface Session {
  token: string;
  device: string;
  /** Called when the server refuses the token: the app asks for it again. */
  unauthorized(): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in app');
  return s;
}

export interface Loaded<T> {
  data: T | null;
  error: ApiError | Error | null;
  loading: boolean;
  reload(): void;
}

/**
 * Loads with `load` whenever `key` changes (and every `refreshMs` if given); the previous page's
 * request is cancelled. The data of the previous key stays shown while the next one loads.
 */
export function useLoad<T>(
  key: string,
  load: (api: <A>(path: string, params?: Params) => Promise<A>) => Promise<T>,
  refreshMs?: number,
): Loaded<T> {
  const session = useSession();
  const [state, setState] = useState<{ key: string; data: T | null; error: ApiError | Error | null; loading: boolean }>(
    {
      key,
      data: null,
      error: null,
      loading: true,
    },
  );
  const [nonce, setNonce] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    const ctl = new AbortController();
    let timer: ReturnType<typeof setTimeout> | null = null;
    const api = <A>(path: string, params?: Params) => apiGet<A>(session.token, path, params, ctl.signal);
    const run = async (first: boolean) => {
      if (first) setState((s) => ({ ...s, key, loading: true, error: null }));
      try {
        const data = await loadRef.current(api);
        if (ctl.signal.aborted) return;
        setState({ key, data, error: null, loading: false });
      } catch (err) {
        if (ctl.signal.aborted) return;
        if (err instanceof ApiError && err.kind === 'unauthorized') {
          session.unauthorized();
          return;
        }
        setState((s) => ({ ...s, key, error: err instanceof Error ? err : new Error(String(err)), loading: false }));
      }
      if (refreshMs && !ctl.signal.aborted) timer = setTimeout(() => void run(false), refreshMs);
    };
    void run(true);
    return () => {
      ctl.abort();
      if (timer) clearTimeout(timer);
    };
  }, [key, nonce, session.token, session.device, refreshMs]);

  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}
