/** Kwartier's version: `kwartier --version`, and what the edge tells Home Assistant (origin, device). Kept equal to package.json's by a test. */
export const KWARTIER_VERSION = '0.1.0';
