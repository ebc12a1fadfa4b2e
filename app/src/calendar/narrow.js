// Whether the screen is phone-narrow: then the calendar shows one day and one column at a time.
import { useEffect, useState } from 'preact/hooks';

const QUERY = '(max-width: 700px)';

export function useNarrow() {
  const [narrow, setNarrow] = useState(() => window.matchMedia(QUERY).matches);
  useEffect(() => {
    const media = window.matchMedia(QUERY);
    const update = () => setNarrow(media.matches);
    media.addEventListener('change', update);
    return () => media.removeEventListener('change', update);
  }, []);
  return narrow;
}
