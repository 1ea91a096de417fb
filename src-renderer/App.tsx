import { useEffect, useState } from 'react';
import { Account } from './features/account/Account';
import { Avatars } from './features/avatars/Avatars';
import { Compose } from './features/compose/Compose';
import { Editor } from './features/editor/Editor';
import { Library } from './features/library/Library';
import { Models } from './features/models/Models';
import { ModelStats } from './features/models/ModelStats';
import { Renders } from './features/renders/Renders';
import { Settings } from './features/settings/Settings';
import { Voices } from './features/voices/Voices';
import { connectStore, useStore } from './store';

function Logo() {
  return (
    <svg className="brand__logo" viewBox="0 0 32 32" aria-hidden="true" focusable="false">
      <path d="M6 5h20a3 3 0 0 1 3 3v12a3 3 0 0 1-3 3H14l-6 5v-5H6a3 3 0 0 1-3-3V8a3 3 0 0 1 3-3z" />
      <path className="brand__mouth" d="M11 13c1.6 2.6 8.4 2.6 10 0" />
    </svg>
  );
}

type Screen = 'videos' | 'editor' | 'renders' | 'avatars' | 'voices' | 'models' | 'settings' | 'account';

const SCREENS: { id: Screen; label: string }[] = [
  { id: 'videos', label: 'Videos' },
  { id: 'editor', label: 'Editor' },
  { id: 'renders', label: 'Renders' },
  { id: 'avatars', label: 'Avatars' },
  { id: 'voices', label: 'Voices' },
  { id: 'models', label: 'Models' },
  { id: 'settings', label: 'Settings' },
  { id: 'account', label: 'Account' },
];

export function App() {
  useEffect(() => connectStore(), []);
  const editorVideoId = useStore((state) => state.editorVideoId);
  // A draft left open (before a reload or a crash) opens again where the user was.
  const [screen, setScreen] = useState<Screen>(() => (useStore.getState().editorVideoId ? 'editor' : 'videos'));
  const editorShown = useStore((state) => state.editorShown);
  useEffect(() => {
    if (editorShown > 0) setScreen('editor');
  }, [editorShown]);
  const screenRequest = useStore((state) => state.screenRequest);
  useEffect(() => {
    if (screenRequest) setScreen(screenRequest.screen);
  }, [screenRequest]);
  const screens = SCREENS.filter(({ id }) => id !== 'editor' || editorVideoId !== null);

  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          <Logo />
          <h1 className="brand__name">Mouthpiece</h1>
        </div>
        <nav className="tabs" aria-label="Screens">
          {screens.map(({ id, label }) => (
            <button
              key={id}
              type="button"
              className="tabs__tab"
              aria-current={screen === id ? 'page' : undefined}
              onClick={() => setScreen(id)}
            >
              {label}
            </button>
          ))}
        </nav>
        <p className="topbar__tagline">Turn a script into a talking-presenter video, on your own machine.</p>
      </header>
      {/* Hidden rather than unmounted, so a script being written survives a visit to another screen;
          the Avatars and Voices screens unmount, so a preview playing there stops when it is left. */}
      <main className="workspace" hidden={screen !== 'videos'}>
        <Compose />
        <Library />
      </main>
      {/* Kept mounted while another screen is shown, so its undo history and pending save survive. */}
      <main className="workspace workspace--editor" hidden={screen !== 'editor' || editorVideoId === null}>
        <Editor active={screen === 'editor'} onClose={() => setScreen('videos')} />
      </main>
      {/* Unmounted when left, so each visit reads the statistics afresh; the renders live in the store. */}
      {screen === 'renders' && (
        <main className="workspace workspace--renders">
          <Renders />
        </main>
      )}
      {screen === 'avatars' && (
        <main className="workspace workspace--single">
          <Avatars />
        </main>
      )}
      {screen === 'voices' && (
        <main className="workspace workspace--single">
          <Voices />
        </main>
      )}
      {/* Unmounted when left, so each visit searches afresh; downloads live in the store. */}
      {screen === 'models' && (
        <main className="workspace workspace--models">
          <Models />
          <ModelStats />
        </main>
      )}
      {/* Unmounted when left, so each visit reads the encoders and the account afresh. */}
      {screen === 'settings' && (
        <main className="workspace workspace--single">
          <Settings />
        </main>
      )}
      {screen === 'account' && (
        <main className="workspace workspace--single">
          <Account />
        </main>
      )}
    </div>
  );
}
