// Placeholder while the command is being built; replaced by its implementation.
import { UsageError } from '../../core/errors.js';
import type { Command } from '../command.js';

export const command: Command = {
  name: 'dsmr-parse',
  summary: '',
  usage: 'Usage: kwartier dsmr-parse (not built yet)',
  run: async () => {
    throw new UsageError('kwartier dsmr-parse: not built yet');
  },
};
