import { useState } from 'react';
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** One action of a row at a time: `busy` names the one running, `error` is the last one's failure. */
export function useAction<W extends string>() {
  const [busy, setBusy] = useState<W | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function act(what: W, action: () => Promise<void>) {
    setBusy(what);
    setError(null);
    try {
      await action();
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(null);
    }
  }

  return { busy, error, act };
}
