export interface EarlyStoppingVerdict {
  /** This epoch has the lowest validation loss so far: its weights are the ones to keep. */
  improved: boolean;
  stop: boolean;
}

/**
 * Watches the validation loss and says when to stop: after `patience` epochs in a row without a new
 * minimum. A patience of 0 disables stopping (the best epoch is still tracked).
 */
export class EarlyStopping {
  private lowestLoss = Number.POSITIVE_INFINITY;
  private epochsSinceBest = 0;
  private best = 0;

  constructor(private readonly patience: number) {
    if (!Number.isInteger(patience) || patience < 0) {
      throw new Error(`EarlyStopping: patience must be a non-negative integer, got ${patience}`);
    }
  }

  /** Epoch of the lowest validation loss seen so far, 0 before any. */
  get bestEpoch(): number {
    return this.best;
  }

  observe(epoch: number, validationLoss: number): EarlyStoppingVerdict {
    if (validationLoss < this.lowestLoss) {
      this.lowestLoss = validationLoss;
      this.best = epoch;
      this.epochsSinceBest = 0;
      return { improved: true, stop: false };
    }
    this.epochsSinceBest++;
    return { improved: false, stop: this.patience > 0 && this.epochsSinceBest >= this.patience };
  }
}
