/** The MQTT tests' import path of the shared helper (test/helpers/wait.ts). */
export { waitFor } from '../helpers/wait.js';
