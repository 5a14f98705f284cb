/** Tariff files for tests (the server's format, docs/tariffs.md). */

/** A 2026 contract whose import follows the day-ahead price (multiplier 1, +1 c/kWh), as YAML lines. */
export function dynamicTariffLines(): string[] {
  return [
    'periods:',
    "  - valid_from: '2026-01-01'",
    '    vat_pct: 6',
    '    electricity:',
    '      import: { dynamic: { multiplier: 1, adder_eur_per_kwh: 0.01 } }',
    '      network_eur_per_kwh: 0.05',
    '      levies_eur_per_kwh: 0.02',
    '',
  ];
}
