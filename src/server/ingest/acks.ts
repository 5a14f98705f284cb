/**
 * The acknowledgements: after a commit, the store's watermark of each (device, outbox) goes to
 * `{prefix}/{device_id}/ack`, retained, at QoS 0 (docs/mqtt.md, "The acknowledgement protocol").
 *
 * QoS 0 because an ack is a watermark the next commit's ack supersedes and the edge resends
 * whatever stays unacknowledged. At QoS 1, mqtt.js kept every ack until the broker's PUBACK and,
 * after a reconnect, re-sent them one at a time, each waiting for its PUBACK behind the broker's
 * queue, holding every newer ack back until the last stale one was through: with thousands of
 * homes the ingester fell further behind with each reconnect (test/server/ingest/reconnect-acks.test.ts).
 */
import type { MqttClient } from 'mqtt';
import { topic } from '../../core/wire.js';
import type { Logger } from '../../lib/log.js';

/** Failed acks are logged at most this often, with their count. */
const FAILURE_LOG_PERIOD_MS = 10_000;
/** Watermarks remembered before the map starts over (one per device and outbox). */
const MAX_REMEMBERED = 100_000;

export class AckPublisher {
  /** Acks handed to the connection. */
  published = 0;
  private readonly lastSeq = new Map<string, number>();
  private failuresSinceLog = 0;
  private failureLoggedAt = 0;

  constructor(
    private readonly prefix: string,
    private readonly log: Logger,
  ) {}

  /**
   * Publishes the watermark `seq` of (device, outbox), never lower than one published before
   * (concurrent commits may finish out of order). Without a connection the ack is counted as failed:
   * the edge resends, and the next commit acknowledges again.
   */
  publish(client: MqttClient | null, deviceId: string, outboxId: string, seq: number): void {
    const key = `${deviceId}\u0000${outboxId}`;
    const watermark = Math.max(seq, this.lastSeq.get(key) ?? 0);
    if (this.lastSeq.size > MAX_REMEMBERED) this.lastSeq.clear();
    this.lastSeq.set(key, watermark);
    if (!client) return;
    if (!client.connected || client.disconnecting) {
      this.failed(deviceId);
      return;
    }
    // No callback: at QoS 0 mqtt.js would otherwise wait for the socket's 'drain' once per ack
    // while the socket is full (thousands of listeners after one flush).
    const payload = JSON.stringify({ outbox_id: outboxId, seq: watermark });
    client.publish(topic(this.prefix, deviceId, 'ack'), payload, { qos: 0, retain: true });
    this.published++;
  }

  /**
   * An ack that could not go out: logged once every FAILURE_LOG_PERIOD_MS with the count, not once
   * per device (with thousands of homes a dropped connection would write a line per home).
   */
  private failed(deviceId: string): void {
    this.failuresSinceLog++;
    const now = Date.now();
    if (now - this.failureLoggedAt < FAILURE_LOG_PERIOD_MS) return;
    this.log.warn(
      { device_id: deviceId, failed_since_last_line: this.failuresSinceLog },
      'ack publish failed: not connected to the broker',
    );
    this.failureLoggedAt = now;
    this.failuresSinceLog = 0;
  }
}
