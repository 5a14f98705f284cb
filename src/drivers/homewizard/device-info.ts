/**
 * HomeWizard GET /api (the device information) and the check that a device is a P1 meter, the only
 * kind the homewizard source reads.
 */
import { KwartierError } from '../../core/errors.js';
import { type HomeWizardApi, HomeWizardDataError, isRecord } from './fields.js';

export interface DeviceInfo {
  product_type: string;
  product_name: string | null;
  /** 12 hex digits, also the MAC address. */
  serial: string;
  firmware_version: string | null;
  /** "v1" on v1-only firmware, "2.0.0" (…) with v2. */
  api_version: string | null;
}

/** Parses GET /api. Throws HomeWizardDataError without a product_type or serial. */
export function parseDeviceInfo(doc: unknown): DeviceInfo {
  if (!isRecord(doc)) throw new HomeWizardDataError('HomeWizard GET /api: expected a JSON object');
  const str = (k: string) => (typeof doc[k] === 'string' && doc[k] !== '' ? (doc[k] as string) : null);
  const productType = str('product_type');
  const serial = str('serial');
  if (productType === null || serial === null) {
    throw new HomeWizardDataError('HomeWizard GET /api: product_type and serial are required');
  }
  return {
    product_type: productType,
    product_name: str('product_name'),
    serial,
    firmware_version: str('firmware_version'),
    api_version: str('api_version'),
  };
}

/**
 * The type in the device certificate's CN (`appliance/<type>/<serial>`) differs from product_type "for
 * legacy reasons" (docs/v2/authorization.mdx). Known products only; others are checked on the serial.
 */
export const CERT_TYPE_BY_PRODUCT: Readonly<Record<string, string>> = {
  'HWE-P1': 'p1dongle',
  'HWE-SKT': 'energysocket',
  'HWE-DSP': 'display',
  'HWE-KWH1': 'energymeter',
  'HWE-KWH3': 'energymeter',
  'HWE-WTR': 'watermeter',
  'HWE-BAT': 'battery',
};

/** Product types that are P1 meters: the only ones this source reads. */
export const P1_PRODUCT_TYPES: readonly string[] = ['HWE-P1'];

export class HomeWizardDeviceError extends KwartierError {
  constructor(message: string) {
    super('homewizard_wrong_device', message, { retriable: false });
    this.name = 'HomeWizardDeviceError';
  }
}

/**
 * Refuses devices that are not P1 meters (a kWh meter, a battery, a socket): their `power_w` is not the
 * home's grid power, so reading them as the P1 source would be wrong, not just incomplete.
 */
export function checkP1Device(info: DeviceInfo, api: HomeWizardApi): void {
  if (!P1_PRODUCT_TYPES.includes(info.product_type)) {
    throw new HomeWizardDeviceError(
      `HomeWizard device ${info.serial} is a ${info.product_type}${info.product_name ? ` (${info.product_name})` : ''}, not a P1 meter (HWE-P1); the homewizard source reads P1 meters only`,
    );
  }
  if (api === 'v2' && info.api_version !== null && !/^[2-9]/.test(info.api_version)) {
    throw new HomeWizardDeviceError(
      `HomeWizard device ${info.serial} reports api_version ${JSON.stringify(info.api_version)}: it does not offer API v2; update its firmware or set homewizard.api_version: v1`,
    );
  }
}
