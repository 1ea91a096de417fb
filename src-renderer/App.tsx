import { useEffect } from 'react';
import { Compose } from './features/compose/Compose';
import { Library } from './features/library/Library';
import { connectStore } from './store';

function Logo() {
  return (
    <svg className="brand__logo" viewBox="0 0 32 32" aria-hidden="true" focusable="false">
      <path d="M6 5h20a3 3 0 0 1 3 3v12a3 3 0 0 1-3 3H14l-6 5v-5H6a3 3 0 0 1-3-3V8a3 3 0 0 1 3-3z" />
      <path className="brand__mouth" d="M11 13c1.6 2.6 8.4 2.6 10 0" />
    </svg>
  );
}

export function App() {
  useEffect(() => connectStore(), []);

  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          <Logo />
          <h1 className="brand__name">Mouthpiece</h1>
        </div>
        <p className="topbar__tagline">Turn a script into a talking-presenter video, on your own machine.</p>
      </header>
      <main className="workspace">
        <Compose />
        <Library />
      </main>
    </div>
  );
}
