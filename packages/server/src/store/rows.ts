// Small helpers shared by the Kysely storage modules.

/** A conditional UPDATE touched a row: the caller won the claim or the state moved. */
export const changed = (result: { numUpdatedRows: bigint }): boolean => Number(result.numUpdatedRows) > 0;
