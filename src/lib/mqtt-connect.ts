/**
 * `mqtt.connect` for an `mqtt://` or `mqtts://` URL, parsed with the WHATWG URL API. Given a URL
 * string, mqtt.js parses it with Node's legacy `url.parse()`, which Node 24 deprecates with a
 * warning on stderr (DEP0169) — in the edge's journal at every start. Host, port and protocol
 * are passed as options instead.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export function mqttUrlOptions(url: string): Pick<IClientOptions, 'protocol' | 'host' | 'port'> {
  const u = new URL(url);
  const protocol = u.protocol.replace(/:$/, '');
  if (protocol !== 'mqtt' && protocol !== 'mqtts') throw new Error(`${url}: not an mqtt:// or mqtts:// URL`);
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  return { protocol, host, port: u.port === '' ? (protocol === 'mqtts' ? 8883 : 1883) : Number(u.port) };
}

export function connectMqtt(url: string, opts: IClientOptions): MqttClient {
  return mqtt.connect({ ...opts, ...mqttUrlOptions(url) });
}
