/**
 * The Node.js flags the server runs with: in deploy/Dockerfile (NODE_OPTIONS), in
 * deploy/systemd/kwartier-server.service, and in the MQTT benchmark's ingester process
 * (test/deploy-files.test.ts keeps them equal).
 *
 * `--max-semi-space-size=64`: the ingester keeps every snapshot from its message until the commit
 * (the flush interval, 100 ms, or longer under load). At thousands of messages a second V8's default
 * young generation (16 MB semi-spaces) fills several times in that while, and every scavenge copies
 * the buffered snapshots again, or promotes them to the old generation, whose collection costs more
 * still. Larger semi-spaces let them die young. V8 grows the young generation only when it needs
 * to, so a single home's server at one message a second stays small (`npm run bench -- mqtt`
 * measures it; the figures are in docs/mqtt.md).
 */
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=64'] as const;
