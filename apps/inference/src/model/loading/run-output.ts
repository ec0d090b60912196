/**
 * Class probabilities (row-major [rows, k]) and the predicted class index of each row; a regressor's run has none of
 * those (empty arrays) and its predicted value per row in `values`.
 */
export interface RunOutput {
  probabilities: Float32Array;
  labels: Int32Array;
  values?: Float32Array;
}
