/** The pvr version, printed by `pvr --version`. */
export const VERSION = "0.1.0";

/** The line `pvr --version` prints (without the newline). */
export const VERSION_TEXT = `pvr version ${VERSION}`;
