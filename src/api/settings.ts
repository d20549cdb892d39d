/**
 * Generated from schema/plugin.json by scripts/generate-api.sh: do not edit.
 * Change the source and run `jlpm build:api` instead.
 */
/* eslint-disable */

/**
 * Settings of the kale-ext pipeline sidebar.
 */
export interface KaleSettings {
  /**
   * How long to wait after the last edit of a notebook before re-analyzing its pipeline.
   */
  analysisDelay?: number;
  /**
   * How many steps a local run executes at once. Empty: the number of CPU cores of the server.
   */
  maxParallel?: number | null;
  /**
   * Local runs reuse the outputs of steps whose code, inputs and parameters did not change.
   */
  useCache?: boolean;
  /**
   * Cancel the steps still running when one step fails (otherwise independent branches finish).
   */
  failFast?: boolean;
  /**
   * How often the runs panel asks the server for the state of active runs.
   */
  pollInterval?: number;
}
