// Placeholder while the command is being built; replaced by its implementation.
import { UsageError } from '../../core/errors.js';
import type { Command } from '../command.js';

export const command: Command = {
  name: 'simulate',
  summary: '',
  usage: 'Usage: kwartier simulate (not built yet)',
  run: async () => {
    throw new UsageError('kwartier simulate: not built yet');
  },
};
