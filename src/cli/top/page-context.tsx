/**
 * What the pages of `kwartier top` share (view.tsx renders them): the page context, the theme's
 * colours by meaning, the width from which panels sit side by side, a title and key-value rows.
 */
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import type { TopData } from './feed.js';
import type { Clock } from './model.js';

/** Colours by meaning; every one undefined without colour. */
export interface Theme {
  good?: string;
  warn?: string;
  bad?: string;
  solar?: string;
  battery?: string;
  accent?: string;
}

/** Panels sit side by side from this width; below it they stack. */
export const WIDE = 110;

export interface PageContext {
  data: TopData;
  clock: Clock;
  theme: Theme;
  now: number;
  columns: number;
  /** Rows for the page's content. */
  rows: number;
}

export function Title({ children }: { children: ReactNode }): ReactNode {
  return (
    <Text bold underline>
      {children}
    </Text>
  );
}

/** `label ....... value` rows of two columns. */
export function KeyValues({ rows, width = 34 }: { rows: Array<[string, string]>; width?: number }): ReactNode {
  return (
    <Box flexDirection="column">
      {rows.map(([k, v]) => (
        <Text key={k} wrap="truncate">
          {'  '}
          {k.padEnd(Math.max(k.length + 1, width - v.length - 2), ' ')}
          {v}
        </Text>
      ))}
    </Box>
  );
}
