// Placeholder while the command is being built; replaced by its implementation.
import { UsageError } from '../../core/errors.js';
import type { Command } from '../command.js';

const placeholder = (name: string): Command => ({
  name,
  summary: '',
  usage: `Usage: kwartier ${name} (not built yet)`,
  run: async () => {
    throw new UsageError(`kwartier ${name}: not built yet`);
  },
});
export const initCommand = placeholder('certs init');
export const deviceCommand = placeholder('certs device');
