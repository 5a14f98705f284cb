// Placeholder while the command is being built; replaced by its implementation.
import { UsageError } from '../../core/errors.js';
import type { Command } from '../command.js';

export const command: Command = {
  name: 'edge',
  summary: '',
  usage: 'Usage: kwartier edge (not built yet)',
  run: async () => {
    throw new UsageError('kwartier edge: not built yet');
  },
};
