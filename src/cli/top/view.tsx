/**
 * `kwartier top`'s screen, in Ink (React for terminals): a header with the link's state, four
 * pages (overview, today, capacity, devices) and a key line. It fits 80×24 and uses the room of a
 * larger terminal: side-by-side panels from 110 columns, longer lists with more rows, wider bars.
 * Colour only through `theme` (none with NO_COLOR), never as the only carrier of a meaning: every
 * state is also a word.
 * The overview is overview.tsx, the other pages pages.tsx, what they share page-context.tsx.
 */
import { Box, Text, useApp, useInput, useStdout } from 'ink';
import { type ReactNode, useEffect, useState } from 'react';
import type { TopData, TopFeed } from './feed.js';
import { Clock, DASH, duration, p1AgeSeconds, snapshotAgeSeconds } from './model.js';
import { Overview } from './overview.js';
import type { PageContext, Theme } from './page-context.js';
import { CapacityPage, Devices, Today } from './pages.js';

export const PAGES = ['Overview', 'Today', 'Capacity', 'Devices'] as const;
export type Page = (typeof PAGES)[number];

export function makeTheme(colour: boolean): Theme {
  return colour ? { good: 'green', warn: 'yellow', bad: 'red', solar: 'yellow', battery: 'cyan', accent: 'blue' } : {};
}

function useTerminalSize(): { columns: number; rows: number } {
  const { stdout } = useStdout();
  const read = () => ({ columns: Math.max(40, stdout.columns || 80), rows: Math.max(12, stdout.rows || 24) });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = () => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  });
  return size;
}

/** A ticking clock, so ages and the header's time move between snapshots. */
function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

export interface AppProps {
  feed: TopFeed;
  theme: Theme;
  initialPage?: Page;
}

export function App({ feed, theme, initialPage = 'Overview' }: AppProps): ReactNode {
  const [data, setData] = useState<TopData>(feed.current);
  const [page, setPage] = useState<Page>(initialPage);
  const { exit } = useApp();
  const { columns, rows } = useTerminalSize();
  const now = useNow();

  useEffect(() => {
    const onChange = (d: TopData) => setData(d);
    feed.subscribe(onChange);
    return () => feed.unsubscribe(onChange);
  }, [feed]);

  useInput((input, key) => {
    const i = PAGES.indexOf(page);
    if (input === 'q' || input === 'Q' || key.escape) exit();
    else if (input >= '1' && input <= String(PAGES.length)) setPage(PAGES[Number(input) - 1] ?? page);
    else if (key.rightArrow || (key.tab && !key.shift)) setPage(PAGES[(i + 1) % PAGES.length] ?? page);
    else if (key.leftArrow || (key.tab && key.shift)) setPage(PAGES[(i + PAGES.length - 1) % PAGES.length] ?? page);
    else if (input === 'r') feed.refresh();
    else if (input === 'd') feed.nextDevice();
  });

  const clock = new Clock(data.timezone);
  const ctx: PageContext = { data, clock, theme, now, columns, rows: rows - 5 };
  return (
    <Box flexDirection="column" width={columns} height={rows - 1}>
      <Header ctx={ctx} />
      <Tabs page={page} theme={theme} />
      <Box flexDirection="column" flexGrow={1} paddingX={1} overflow="hidden">
        {page === 'Overview' && <Overview ctx={ctx} />}
        {page === 'Today' && <Today ctx={ctx} />}
        {page === 'Capacity' && <CapacityPage ctx={ctx} />}
        {page === 'Devices' && <Devices ctx={ctx} />}
      </Box>
      <Text wrap="truncate">
        {' 1-4 ←→ pages · r refresh'}
        {data.devices.length > 1 ? ' · d next home' : ''}
        {' · q quit'}
      </Text>
    </Box>
  );
}

function Header({ ctx }: { ctx: PageContext }): ReactNode {
  const { data, clock, theme, now } = ctx;
  const rt = data.realtime;
  const link = data.link;
  let linkText: string;
  let linkColour: string | undefined;
  if (link.state === 'live') {
    linkText = '● live';
    linkColour = theme.good;
  } else if (link.state === 'connecting') {
    linkText = '○ connecting';
    linkColour = theme.warn;
  } else {
    const inS = link.retryAt === null ? 0 : Math.max(0, Math.ceil((link.retryAt - now) / 1000));
    linkText = `○ reconnecting in ${inS} s (${link.error ?? 'closed'})`;
    linkColour = theme.bad;
  }
  const snapAge = snapshotAgeSeconds(rt, data.realtimeAt, now);
  const p1Age = p1AgeSeconds(rt, data.realtimeAt, now);
  return (
    <Box flexDirection="column" paddingX={1}>
      <Box justifyContent="space-between">
        <Text bold wrap="truncate">
          Kwartier top · {data.deviceId}
        </Text>
        <Text>
          {clock.hms(now)} {data.timezone}
        </Text>
      </Box>
      <Text wrap="truncate">
        <Text color={linkColour}>{linkText}</Text>
        {rt
          ? ` · snapshot ${clock.hms(rt.timestamp)} (${duration(snapAge)} ago) · P1 telegram ${
              p1Age === null ? DASH : `${duration(p1Age)} ago`
            }`
          : ' · no snapshot yet'}
      </Text>
    </Box>
  );
}

function Tabs({ page, theme }: { page: Page; theme: Theme }): ReactNode {
  return (
    <Box paddingX={1}>
      {PAGES.map((p, i) => (
        <Box key={p} marginRight={2}>
          <Text inverse={p === page} color={p === page ? theme.accent : undefined}>
            {p === page ? `[${i + 1} ${p}]` : ` ${i + 1} ${p} `}
          </Text>
        </Box>
      ))}
    </Box>
  );
}
