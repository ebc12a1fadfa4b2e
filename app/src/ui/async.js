// Loading data for a screen: `useLoad(fn, deps)` → {data, error, loading, reload}.
import { useCallback, useEffect, useState } from 'preact/hooks';

export function useLoad(fn, deps = []) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const run = useCallback(() => {
    let live = true;
    setState((old) => ({ ...old, loading: true, error: null }));
    Promise.resolve()
      .then(fn)
      .then((data) => live && setState({ data, error: null, loading: false }))
      .catch((error) => live && setState({ data: null, error, loading: false }));
    return () => {
      live = false;
    };
  }, deps);
  useEffect(run, [run]);
  return { ...state, reload: run };
}
