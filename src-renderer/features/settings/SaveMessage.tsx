/** What a settings form last said: its error (an alert) or that it saved. */
export type SaveMessageValue = { kind: 'saved' | 'error'; text: string } | null;

export function SaveMessage({ message, errorId }: { message: SaveMessageValue; errorId?: string }) {
  if (message?.kind === 'error') {
    return (
      <p className="choice__error" id={errorId} role="alert">
        {message.text}
      </p>
    );
  }
  if (message?.kind === 'saved') {
    return (
      <p className="settings__saved" role="status">
        {message.text}
      </p>
    );
  }
  return null;
}
