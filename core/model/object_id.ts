/**
 * Object ids: the lowercase hex SHA-256 of an object's bytes.
 *
 * @module
 */

const HEX64 = /^[0-9a-fA-F]{64}$/;

/** True for a 64-character hex string (pvr accepts either case, writes lowercase). */
export function isObjectId(s: unknown): s is string {
  return typeof s === "string" && s.length === 64 && HEX64.test(s);
}
