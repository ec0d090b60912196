import { getPriority, setPriority } from 'node:os';
import { isMainThread } from 'node:worker_threads';

/**
 * The nice value of a background worker thread (training, batch scoring, imports): under contention the scheduler
 * gives the serving thread of the same process (HTTP, broker heartbeats) the core first, and when the cores are idle
 * the worker runs at full speed all the same.
 */
export const BACKGROUND_NICE = 10;

/**
 * Lowers the calling worker thread's scheduling priority to BACKGROUND_NICE, never raising it. On Linux the priority
 * belongs to the thread (setpriority on the calling task), so the process's main thread keeps its own; elsewhere, or
 * where the call is refused, the thread keeps its priority. Returns the thread's nice value afterwards.
 */
export function runInBackground(): number {
  if (isMainThread)
    throw new Error('runInBackground() lowers a worker thread, not the main thread of the process');
  try {
    if (getPriority() < BACKGROUND_NICE) setPriority(BACKGROUND_NICE);
  } catch {
    // Not permitted or not supported here: the thread runs at its current priority.
  }
  return getPriority();
}
