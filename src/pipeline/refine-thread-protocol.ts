import type { TierConfig } from '../models/tiers.ts';
import type { RefineInput, RefineOverrides } from './matte-refiner.ts';

/** What the refiner thread is built from (workerData). */
export interface RefineThreadInit {
  tier: TierConfig;
  width: number;
  height: number;
  matteWidth: number;
  matteHeight: number;
  overrides: RefineOverrides;
}

/**
 * One frame to refine. The frame's pixels are moved to the thread and back with the reply (a 6 MB
 * 1080p frame crosses without a copy); the matte and luma are small copies, because the matte
 * stream keeps key-frame mattes for blending. (Frames in a SharedArrayBuffer were tried: V8 copies
 * into and reads from shared memory several times slower, which cost more than it saved.)
 */
export interface RefineRequest extends RefineInput {
  id: number;
  /** A spare alpha buffer (moved here) to write this frame's alpha into instead of a new one. */
  out?: Uint8Array;
}

export type RefineReply =
  | { type: 'alpha'; id: number; alpha: Uint8Array; rgb: Uint8Array; ms: number }
  | { type: 'error'; id: number; message: string };
