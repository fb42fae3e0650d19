/**
 * Signed deliveries, as Standard Webhooks specifies them: each attempt carries webhook-id, webhook-timestamp
 * and webhook-signature, "v1," + base64 HMAC-SHA256 of "id.timestamp.body" under each secret (several
 * while a secret is rotated, space-separated). Secrets are "whsec_" + base64 of 24 to 64 random bytes.
 *
 * Keys are decoded once per trigger (when the registry resolves it), so an attempt costs one HMAC per
 * secret. No message here quotes a secret.
 */
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';

const PREFIX = 'whsec_';
/** Standard base64, padded: what the reference libraries (standardwebhooks) decode. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** The key sizes the Standard Webhooks specification asks for. */
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;

/** Why a signing secret (one or several, space-separated) is not usable, or undefined. */
export function signingSecretProblem(value: string): string | undefined {
  const secrets = value.split(' ').filter((s) => s !== '');
  if (secrets.length === 0) return 'a signing secret must not be empty';
  for (const [i, secret] of secrets.entries()) {
    const which = secrets.length > 1 ? `secret ${i + 1} of ${secrets.length}` : 'the secret';
    if (!secret.startsWith(PREFIX)) return `${which} must start with "${PREFIX}" (Standard Webhooks form: "${PREFIX}" + base64)`;
    const encoded = secret.slice(PREFIX.length);
    if (!BASE64.test(encoded)) return `${which} must be "${PREFIX}" followed by standard, padded base64`;
    const bytes = Buffer.byteLength(encoded, 'base64');
    if (bytes < MIN_KEY_BYTES || bytes > MAX_KEY_BYTES) {
      return `${which} must encode ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} bytes (it encodes ${bytes}): generate one with "openssl rand -base64 32"`;
    }
  }
  return undefined;
}

/** The keys of a valid signing secret (signingSecretProblem found nothing). */
export function signingKeys(value: string): KeyObject[] {
  return value
    .split(' ')
    .filter((s) => s !== '')
    .map((s) => createSecretKey(Buffer.from(s.slice(PREFIX.length), 'base64')));
}

/** The value of webhook-signature for one attempt: a "v1,<base64>" per key, space-separated. */
export function webhookSignature(keys: readonly KeyObject[], id: string, timestamp: number, body: string): string {
  const prefix = `${id}.${timestamp}.`;
  let header = '';
  for (const key of keys) {
    // update() encodes strings as UTF-8, the bytes undici sends the body as.
    const mac = createHmac('sha256', key).update(prefix).update(body).digest('base64');
    header += header === '' ? `v1,${mac}` : ` v1,${mac}`;
  }
  return header;
}
