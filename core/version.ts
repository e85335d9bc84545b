/** The pvr version, printed by `pvr --version`. */
export const VERSION = "0.1.0";
