import { exitWithin } from './dispatch.js';
import { main } from './main.js';

exitWithin(await main(process.argv.slice(2)));
