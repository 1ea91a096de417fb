import { useEffect, useState } from 'react';
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

export type Load<T> = { kind: 'loading' } | { kind: 'loaded'; value: T } | { kind: 'failed'; message: string };

/**
 * Read `read()` again whenever `deps` change. The last answer stays until the next one comes, so a
 * list does not blink while the user types; an answer to an older read is dropped.
 */
export function useLoad<T>(read: () => Promise<T>, deps: unknown[]): Load<T> {
  const [load, setLoad] = useState<Load<T>>({ kind: 'loading' });
  useEffect(() => {
    let current = true;
    read().then(
      (value) => current && setLoad({ kind: 'loaded', value }),
      (error: unknown) => current && setLoad({ kind: 'failed', message: messageOf(error) }),
    );
    return () => {
      current = false;
    };
    // The caller names what the read depends on, as with useEffect.
  }, deps);
  return load;
}
