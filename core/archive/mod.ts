/**
 * pvr export tarballs: {@link writeExport}/{@link exportToPath} write them,
 * {@link readExport} reads and verifies one into a staging store, and
 * {@link commitStaged} moves the staged objects into the real store.
 *
 * @module
 */

export {
  type ExportResult,
  exportToPath,
  type ExportToPathOptions,
  isGzipName,
  writeExport,
  type WriteExportOptions,
} from "./export.ts";
export {
  commitStaged,
  type CommitStagedOptions,
  readExport,
  type ReadExportOptions,
  type ReadExportResult,
} from "./import.ts";
