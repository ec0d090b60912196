import { LoadedModel } from '../loading/loaded-model';

/**
 * The champion of one model (see ServedModel). Swapping is one assignment (atomic for the event loop); a request acquires the current
 * model and releases it when done, and the previous model's session is released once its last request finishes.
 */
export class ModelHolder {
  private current: LoadedModel | null = null;

  get model(): LoadedModel | null {
    return this.current;
  }

  /** The current model, held for the caller until it calls release(); null while none is loaded. */
  acquire(): LoadedModel | null {
    const model = this.current;
    return model ? model.acquire() : null;
  }

  /** Serves `next` from now on and retires the previous model (released when idle). */
  swap(next: LoadedModel): LoadedModel | null {
    const previous = this.current;
    this.current = next;
    previous?.retire();
    return previous;
  }

  /** Serves `next` from now on; the previous model stays loaded (the caller keeps it, e.g. for a split). */
  replace(next: LoadedModel): void {
    this.current = next;
  }

  clear(): void {
    const previous = this.current;
    this.current = null;
    previous?.retire();
  }
}
