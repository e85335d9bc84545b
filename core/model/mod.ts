/**
 * The pure model of pvr: lossless JSON values, the strict parser, canonical JSON, Go
 * compatible writers, merge patches, status classification, path rules, states and
 * parts. No I/O, no clock.
 *
 * @module
 */

export {
  fromPlain,
  isJsonArray,
  isJsonObject,
  JsonNumber,
  type JsonObject,
  jsonObject,
  type JsonValue,
  toPlain,
} from "./json_value.ts";
export { isObjectId } from "./object_id.ts";
export { MAX_JSON_DEPTH, parseJson } from "./json_parse.ts";
export {
  canonicalJson,
  canonicalNumber,
  canonicalString,
  compareCodePoints,
  type DecimalParts,
  decimalParts,
  MAX_INTEGER_DIGITS,
  sortedKeys,
} from "./canonical.ts";
export {
  goIndent,
  goMarshal,
  goMarshalIndent,
  type GoMarshalOptions,
  goNumberText,
  goString,
} from "./go_json.ts";
export { jsonEquals, numbersEqual } from "./json_equal.ts";
export {
  applyMergePatch,
  type ApplyMergePatchOptions,
  createMergePatch,
  pruneNulls,
} from "./merge_patch.ts";
export { classifyStatus, formatStatusLines, type StatusResult } from "./status.ts";
export {
  isIgnoredWalkPath,
  isSpecKey,
  joinKey,
  MAX_KEY_BYTES,
  parentKey,
  SPEC_KEY,
  stateKeyProblem,
  validateStateKey,
} from "./paths.ts";
export {
  DEFAULT_SPEC,
  isInlineJson,
  specOf,
  type State,
  stateObjects,
  validateState,
} from "./state.ts";
export {
  applyMerge,
  applyReplace,
  filterByParts,
  keyInPart,
  parseParts,
  type Parts,
} from "./parts.ts";
