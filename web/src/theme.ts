/** Light and dark themes: the system's choice (prefers-color-scheme) unless the user picked one. */
import { createContext } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { STORAGE } from './config.js';

export type ThemeChoice = 'auto' | 'light' | 'dark';
export type Theme = 'light' | 'dark';

export function initialThemeChoice(): ThemeChoice {
  try {
    const v = localStorage.getItem(STORAGE.theme);
    if (v === 'light' || v === 'dark' || v === 'auto') return v;
  } catch {
    // no storage
  }
  return 'auto';
}

export function storeThemeChoice(choice: ThemeChoice): void {
  try {
    localStorage.setItem(STORAGE.theme, choice);
  } catch {
    // not persisted
  }
}

const dark = () => window.matchMedia('(prefers-color-scheme: dark)');

/** The theme in force, following the system while the choice is 'auto'; sets <html data-theme>. */
export function useTheme(choice: ThemeChoice): Theme {
  const [systemDark, setSystemDark] = useState(() => dark().matches);
  useEffect(() => {
    const mq = dark();
    const on = () => setSystemDark(mq.matches);
    mq.addEventListener('change', on);
    return () => mq.removeEventListener('change', on);
  }, []);
  const theme: Theme = choice === 'auto' ? (systemDark ? 'dark' : 'light') : choice;
  // set during render, not in an effect: the charts (children, whose effects run first) read the
  // theme's colours from the CSS variables when they are built
  const root = document.documentElement;
  if (root.dataset.theme !== theme) {
    root.dataset.theme = theme;
    root.style.colorScheme = theme;
  }
  return theme;
}

export const ThemeContext = createContext<Theme>('light');

/** Colours of the charts, read from the theme's CSS variables. */
export interface Palette {
  text: string;
  muted: string;
  grid: string;
  import: string;
  export: string;
  pv: string;
  battery: string;
  load: string;
  car: string;
  previous: string;
  danger: string;
  accent: string;
}

export function palette(): Palette {
  const cs = getComputedStyle(document.documentElement);
  const v = (name: string) => cs.getPropertyValue(name).trim();
  return {
    text: v('--text'),
    muted: v('--muted'),
    grid: v('--chart-grid'),
    import: v('--c-import'),
    export: v('--c-export'),
    pv: v('--c-pv'),
    battery: v('--c-battery'),
    load: v('--c-load'),
    car: v('--c-car'),
    previous: v('--c-previous'),
    danger: v('--danger'),
    accent: v('--accent'),
  };
}
