/**
 * pvr as a library: the same operations the `pvr` command line runs, for other Deno
 * scripts. Each takes one options object and returns a result object; none prints or
 * exits. Failures are {@link PvrError}s with a machine-readable `code`.
 *
 * Permissions: `--allow-read --allow-write` for repository operations (plus
 * `--allow-env` to find `~/.pvr` through {@link resolveConfigDir}, and optionally
 * `--allow-ffi` for reflink checkouts); the app operations that build images also
 * `--allow-net` (registries) and `--allow-run` (mksquashfs).
 *
 * @example
 * ```ts
 * import { add, commit, init, resolveConfigDir, status } from "./mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const configDir = resolveConfigDir(Deno.env.toObject(), dir);
 * await init({ dir, configDir });
 * await Deno.writeTextFile(`${dir}/hello.txt`, "hello\n");
 * await add({ dir, configDir });
 * await commit({ dir, configDir, message: "first" });
 * console.log(await status({ dir, configDir })); // nothing changed
 * ```
 *
 * @module
 */

export { init, type InitOptions, type InitResult } from "./core/ops/init.ts";
export { add, type AddOptions, type AddResult } from "./core/ops/add.ts";
export { status, type StatusOptions, type StatusResult } from "./core/ops/status.ts";
export { diff, type DiffOptions, type DiffResult } from "./core/ops/diff.ts";
export {
  commit,
  type CommitOptions,
  type CommitResult,
  type CommittedFile,
} from "./core/ops/commit.ts";
export { json, type JsonOptions, type JsonResult } from "./core/ops/json.ts";
export { checkout, type CheckoutOptions, type CheckoutResult } from "./core/ops/checkout.ts";
export { get, type GetOptions, type GetResult, merge } from "./core/ops/get.ts";
export { clone, type CloneOptions, type CloneResult } from "./core/ops/clone.ts";
export { put, type PutOptions, type PutResult } from "./core/ops/put.ts";
export {
  post,
  type PostedRevision,
  type PostEnvelopeOptions,
  type PostOptions,
  type PostResult,
} from "./core/ops/post.ts";
export {
  putObjects,
  type PutObjectsOptions,
  type PutObjectsResult,
} from "./core/ops/putobjects.ts";
export { fastcopy, type FastcopyOptions, type FastcopyResult } from "./core/ops/fastcopy.ts";
export { inspect, type InspectOptions, type InspectResult } from "./core/ops/inspect.ts";
export {
  remoteInfo,
  type RemoteInfoOptions,
  type RemoteInfoResult,
} from "./core/ops/remoteinfo.ts";
export { stepInfo, type StepInfoOptions, type StepInfoResult } from "./core/ops/stepinfo.ts";
export type { PvrRemote, RemoteOptions } from "./core/remote/pantahub/remote.ts";
export type { PantahubCaller, PantahubRequest } from "./core/remote/pantahub/types.ts";
export type { UploadedObject, UploadOutcome } from "./core/remote/pantahub/upload.ts";
export type { RetryPolicy, TransferOptions } from "./core/remote/pantahub/transfer.ts";
export {
  NULL_TRANSFER_REPORTER,
  type TransferDirection,
  type TransferObject,
  type TransferOutcome,
  type TransferReporter,
  type TransferTotals,
} from "./core/remote/progress.ts";
export {
  exportRepo,
  type ExportRepoOptions,
  type ExportRepoResult,
} from "./core/ops/export_repo.ts";
export {
  importRepo,
  type ImportRepoOptions,
  type ImportRepoResult,
} from "./core/ops/import_repo.ts";
export { deploy, type DeployOptions, type DeployResult } from "./core/ops/deploy.ts";
export {
  deviceScan,
  type DeviceScanOptions,
  type DeviceScanResult,
  type ScannedDevice,
} from "./core/ops/device_scan.ts";
export { fsck, type FsckOptions, type FsckProblem, type FsckResult } from "./core/ops/fsck.ts";
export {
  globalConfig,
  type GlobalConfigOptions,
  type GlobalConfigResult,
} from "./core/ops/global_config.ts";
export { login, type LoginOptions, type LoginResult } from "./core/ops/login.ts";
export {
  whoami,
  type WhoamiAccount,
  type WhoamiOptions,
  type WhoamiResult,
} from "./core/ops/whoami.ts";
export { register, type RegisterOptions, type RegisterResult } from "./core/ops/register.ts";
export { claim, type ClaimOptions, type ClaimResult } from "./core/ops/claim.ts";
export {
  deviceCreate,
  type DeviceCreateOptions,
  type DeviceCreateResult,
  type UploadObjectsHook,
} from "./core/ops/device_create.ts";
export { deviceGet, type DeviceGetOptions, type DeviceGetResult } from "./core/ops/device_get.ts";
export { deviceSet, type DeviceSetOptions, type DeviceSetResult } from "./core/ops/device_set.ts";
export {
  devicePs,
  type DevicePsOptions,
  type DevicePsResult,
  type DeviceSummary,
} from "./core/ops/device_ps.ts";
export {
  deviceLogs,
  type DeviceLogsOptions,
  type DeviceLogsResult,
  type LogEntry,
} from "./core/ops/device_logs.ts";
export { appAdd, type AppAddOptions, type AppAddResult } from "./core/ops/app_add.ts";
export {
  appInstall,
  type AppInstallOptions,
  type AppInstallResult,
  appUpdate,
  type AppUpdateOptions,
  type AppUpdateResult,
  type BuildRootfs,
  type BuildRootfsRequest,
  type RefreshSource,
  type RefreshSourceRequest,
} from "./core/ops/app_install.ts";
export { appLs, type AppLsOptions, type AppLsResult } from "./core/ops/app_ls.ts";
export { appInfo, type AppInfoOptions, type AppInfoResult } from "./core/ops/app_info.ts";
export { appRm, type AppRmOptions, type AppRmResult } from "./core/ops/app_rm.ts";
export { dmConvert, type DmConvertOptions, type DmConvertResult } from "./core/ops/dm_convert.ts";
export {
  dmApply,
  type DmApplyOptions,
  type DmApplyResult,
  type DmApplyVolume,
} from "./core/ops/dm_apply.ts";
export {
  selfUpgrade,
  type SelfUpgradeOptions,
  type SelfUpgradeResult,
} from "./core/ops/self_upgrade.ts";
export {
  type NickKind,
  suggestNicks,
  type SuggestNicksOptions,
  type SuggestNicksResult,
} from "./core/ops/completion.ts";
export type { SrcJson } from "./core/app/src_json.ts";
export type { PantahubOptions } from "./core/ops/hub_common.ts";
export { PantahubSession, type PantahubSessionOptions } from "./core/remote/pantahub/session.ts";
export { type Prompter, TtyPrompter } from "./core/remote/pantahub/prompt.ts";
export type { RepoOptions } from "./core/ops/common.ts";
export { resolveConfigDir } from "./core/repo/global_config.ts";
export { EXIT_CODES, exitCodeFor, PvrError, type PvrErrorCode } from "./core/errors.ts";
export { sigAdd, type SigAddOptions, type SigAddResult } from "./core/ops/sig_add.ts";
export {
  sigUpdate,
  type SigUpdated,
  type SigUpdateOptions,
  type SigUpdateResult,
} from "./core/ops/sig_update.ts";
export { sigLs, type SigLsOptions, type SigLsResult } from "./core/ops/sig_ls.ts";
export type { SigKeyOptions } from "./core/ops/sig_common.ts";
export type { PvsMatch } from "./core/sig/payload.ts";
export { SigError } from "./core/sig/errors.ts";
export { canonicalJson } from "./core/model/canonical.ts";
export { parseJson } from "./core/model/json_parse.ts";
export { JsonNumber, type JsonObject, type JsonValue } from "./core/model/json_value.ts";
export type { State } from "./core/model/state.ts";
export { runCli } from "./commands/cli.ts";
export { VERSION } from "./core/version.ts";
