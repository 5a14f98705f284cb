import { describe, expect, it } from 'vitest';
import { mqttUrlOptions } from '../../src/lib/mqtt-connect.js';

describe('mqttUrlOptions: an MQTT URL as mqtt.js options, without Node’s deprecated url.parse()', () => {
  it('takes protocol, host and port; the default port per protocol; IPv6 without brackets', () => {
    expect(mqttUrlOptions('mqtts://broker.example.org:8884')).toEqual({
      protocol: 'mqtts',
      host: 'broker.example.org',
      port: 8884,
    });
    expect(mqttUrlOptions('mqtt://127.0.0.1')).toEqual({ protocol: 'mqtt', host: '127.0.0.1', port: 1883 });
    expect(mqttUrlOptions('mqtts://[::1]')).toEqual({ protocol: 'mqtts', host: '::1', port: 8883 });
  });

  it('refuses another scheme', () => {
    expect(() => mqttUrlOptions('http://127.0.0.1:1883')).toThrow(/not an mqtt:\/\/ or mqtts:\/\/ URL/);
  });
});
