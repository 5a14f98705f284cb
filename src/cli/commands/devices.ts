/**
 * `kwartier devices`: the device types this build knows, from the registry (src/drivers/registry.ts):
 * their roles, simulators, controls and the keys of their `devices:` entries with defaults. The
 * device table of docs/configuration.md is `kwartier devices --markdown` (a test keeps them equal).
 */
import type { TSchema } from '@sinclair/typebox';
import type { DriverDefinition } from '../../drivers/definition.js';
import { DRIVERS } from '../../drivers/registry.js';
import { type Command, parseFlags } from '../command.js';

const usage = `Usage: kwartier devices [--json | --markdown]

Lists the device types a devices: entry of the edge config can name: each one's roles, whether
\`kwartier simulate --device TYPE\` can simulate it, the controls it offers, and its keys (besides
name and type) with their defaults.

Options:
  --json       one JSON document (types, roles, keys with type, default and whether required)
  --markdown   the device table of docs/configuration.md
`;

export interface DeviceKey {
  key: string;
  /** `string`, `integer`, `number`, `boolean`, or the allowed values `v1 | v2`. */
  type: string;
  required: boolean;
  default?: unknown;
  description?: string;
}

export interface DeviceTypeInfo {
  type: string;
  description: string;
  roles: string[];
  simulator: boolean;
  controls: string[];
  keys: DeviceKey[];
}

function typeOf(s: TSchema): string {
  const x = s as Record<string, unknown>;
  if ('const' in x) return JSON.stringify(x.const);
  if (Array.isArray(x.anyOf)) return (x.anyOf as TSchema[]).map(typeOf).join(' | ');
  return typeof x.type === 'string' ? x.type : 'value';
}

export function describeType(d: DriverDefinition): DeviceTypeInfo {
  const required = new Set(d.configSchema.required ?? []);
  const keys = Object.entries(d.configSchema.properties).map(([key, s]) => {
    const x = s as Record<string, unknown>;
    const k: DeviceKey = { key, type: typeOf(s), required: required.has(key) && !('default' in x) };
    if ('default' in x) k.default = x.default;
    if (typeof x.description === 'string') k.description = x.description;
    return k;
  });
  return {
    type: d.type,
    description: d.description,
    roles: [...d.roles],
    simulator: d.simulator !== undefined,
    controls: (d.controls ?? []).map((c) => c.name),
    keys,
  };
}

export function describeTypes(): DeviceTypeInfo[] {
  return DRIVERS.map(describeType);
}

function keyText(k: DeviceKey): string {
  if (k.required) return `${k.key} (required)`;
  if ('default' in k) return `${k.key} = ${JSON.stringify(k.default)}`;
  return k.key;
}

/** The device table of docs/configuration.md. */
export function deviceTableMarkdown(): string {
  const rows = describeTypes().map(
    (t) =>
      `| \`${t.type}\` | ${t.roles.join(', ')} | ${t.keys.map((k) => `\`${keyText(k)}\``).join(', ')} | ${t.description.replace(/\|/g, '\\|')} |`,
  );
  return ['| type | roles (main first) | keys besides name and type | what |', '|---|---|---|---|', ...rows].join('\n');
}

function text(): string {
  const out: string[] = [];
  for (const t of describeTypes()) {
    out.push(`${t.type}  —  ${t.description}`);
    out.push(`  roles:     ${t.roles.join(', ')}`);
    out.push(`  simulator: ${t.simulator ? `kwartier simulate --device ${t.type} 127.0.0.1:PORT` : 'none'}`);
    out.push(`  controls:  ${t.controls.length > 0 ? t.controls.join(', ') : 'none (read-only)'}`);
    out.push('  keys:');
    for (const k of t.keys) {
      const def = k.required ? 'required' : 'default' in k ? `default ${JSON.stringify(k.default)}` : 'optional';
      out.push(`    ${k.key.padEnd(26)} ${k.type.padEnd(24)} ${def}`);
    }
    out.push('');
  }
  return `${out.join('\n')}A devices: entry is {name: NAME, type: TYPE, …that type's keys}; docs/configuration.md has the details.\n`;
}

export const command: Command = {
  name: 'devices',
  summary: 'List the device types, their roles and config keys',
  usage,
  async run(args, io) {
    const parsed = parseFlags(this, args, { json: { type: 'boolean' }, markdown: { type: 'boolean' } });
    if (!parsed) {
      io.stdout.write(usage);
      return 0;
    }
    if (parsed.values.json) io.stdout.write(`${JSON.stringify({ types: describeTypes() }, null, 2)}\n`);
    else if (parsed.values.markdown) io.stdout.write(`${deviceTableMarkdown()}\n`);
    else io.stdout.write(text());
    return 0;
  },
};
