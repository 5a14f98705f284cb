// Placeholder while the command is being built; replaced by its implementation.
import { UsageError } from '../../core/errors.js';
import type { Command } from '../command.js';

export const command: Command = {
  name: 'server',
  summary: '',
  usage: 'Usage: kwartier server (not built yet)',
  run: async () => {
    throw new UsageError('kwartier server: not built yet');
  },
};
