import { useEffect, useState } from 'react';
import { Avatars } from './features/avatars/Avatars';
import { Compose } from './features/compose/Compose';
import { Library } from './features/library/Library';
import { Voices } from './features/voices/Voices';
import { connectStore } from './store';

function Logo() {
  return (
    <svg className="brand__logo" viewBox="0 0 32 32" aria-hidden="true" focusable="false">
      <path d="M6 5h20a3 3 0 0 1 3 3v12a3 3 0 0 1-3 3H14l-6 5v-5H6a3 3 0 0 1-3-3V8a3 3 0 0 1 3-3z" />
      <path className="brand__mouth" d="M11 13c1.6 2.6 8.4 2.6 10 0" />
    </svg>
  );
}

type Screen = 'videos' | 'avatars' | 'voices';

const SCREENS: { id: Screen; label: string }[] = [
  { id: 'videos', label: 'Videos' },
  { id: 'avatars', label: 'Avatars' },
  { id: 'voices', label: 'Voices' },
];

export function App() {
  useEffect(() => connectStore(), []);
  const [screen, setScreen] = useState<Screen>('videos');

  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          <Logo />
          <h1 className="brand__name">Mouthpiece</h1>
        </div>
        <nav className="tabs" aria-label="Screens">
          {SCREENS.map(({ id, label }) => (
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
    </div>
  );
}
