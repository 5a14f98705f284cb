/**
 * One Modbus TCP connection per gateway (host:port), shared by every device that reads through it.
 * A Huawei SDongle serves several inverters as unit ids 1, 2, … of ONE Modbus server that takes one
 * client at a time ("Modbus devices only support one connection at a time", huawei_solar README;
 * devices.md §1.2): each inverter is its own device in a site, so their pollers must share the
 * socket instead of pushing each other off it. A request names its unit; the connection keeps
 * requests one at a time with the pause between them (tcp-client.ts), across all its users.
 *
 * The first user's options (timeouts, pauses, the wait after connecting) open the connection; a user
 * that finds it open uses it at once, without waiting again. A user that sees it fail drops it for
 * everyone (each reopens on its own schedule); it closes when its last user releases it.
 */
import { sleep } from '../../lib/sleep.js';
import { ModbusTcpClient, type ModbusTcpOptions } from './tcp-client.js';

export interface SharedLinkOptions extends Omit<ModbusTcpOptions, 'signal' | 'unitId'> {
  /** Wait after connecting before the first request (every user waits for it). */
  connectDelayMs: number;
}

interface Link {
  client: ModbusTcpClient | null;
  opening: Promise<ModbusTcpClient> | null;
  users: Set<SharedLink>;
}

const LINKS = new Map<string, Link>();

/** One user's handle on the connection of its gateway. */
export class SharedLink {
  readonly key: string;

  constructor(private readonly opts: SharedLinkOptions) {
    this.key = `${opts.host}:${opts.port}`;
  }

  /** How many users share this gateway's connection now (tests, logs). */
  get users(): number {
    return LINKS.get(this.key)?.users.size ?? 0;
  }

  /**
   * An open connection: the one the gateway has, or a new one (after its wait). Throws
   * ModbusTransportError when it cannot connect. `fresh` is true when this call opened it.
   */
  async open(): Promise<{ client: ModbusTcpClient; fresh: boolean }> {
    let link = LINKS.get(this.key);
    if (!link) {
      link = { client: null, opening: null, users: new Set() };
      LINKS.set(this.key, link);
    }
    link.users.add(this);
    if (link.client?.isOpen) return { client: link.client, fresh: false };
    if (link.opening) return { client: await link.opening, fresh: false };
    const current = link;
    const opening = (async () => {
      // Unit 0 here is never used: every request names its own unit.
      const client = new ModbusTcpClient({ ...this.opts, unitId: 0 });
      await client.connect();
      if (this.opts.connectDelayMs > 0) await sleep(this.opts.connectDelayMs);
      return client;
    })();
    current.opening = opening;
    try {
      const client = await opening;
      if (current.users.size === 0) {
        // Everyone released it while it was opening.
        await client.close();
        return { client, fresh: true };
      }
      current.client = client;
      return { client, fresh: true };
    } finally {
      current.opening = null;
    }
  }

  /** The connection failed for this user: close it for every user (each reopens on its own). */
  async drop(client: ModbusTcpClient): Promise<void> {
    const link = LINKS.get(this.key);
    if (link?.client === client) link.client = null;
    await client.close();
  }

  /** This user is done; the connection closes with its last user. */
  async release(): Promise<void> {
    const link = LINKS.get(this.key);
    if (!link) return;
    link.users.delete(this);
    if (link.users.size > 0) return;
    LINKS.delete(this.key);
    const c = link.client;
    link.client = null;
    await c?.close();
  }
}
