// Placeholder while the command is being built; replaced by its implementation.
import { UsageError } from '../../core/errors.js';
import type { Command } from '../command.js';

export const command: Command = {
  name: 'homewizard-pair',
  summary: '',
  usage: 'Usage: kwartier homewizard-pair (not built yet)',
  run: async () => {
    throw new UsageError('kwartier homewizard-pair: not built yet');
  },
};
