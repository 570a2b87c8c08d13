import type { TierConfig } from '../models/tiers.ts';
import { bilinearUpsample, GuidedUpsampler, suggestGuidedParams } from './guided-upsample.ts';
import { OutputStabiliser, TemporalStabiliser } from './temporal-stabiliser.ts';

/** The API's `refine: {edges, temporal}` extension; also how the benchmark gets its raw baseline. */
/** What refining one frame reads: the model's matte, the luma it saw, and the full-resolution frame. */
export interface RefineInput {
  /** Model-resolution matte in [0,1]. */
  matte: Float32Array;
  /** The frame's luma at model resolution (0..255). */
  luma: Uint8Array;
  /** The full-resolution frame, rgb24. */
  rgb: Uint8Array;
}

export interface RefineOverrides {
  /** false → plain bilinear upsampling of the model's matte. */
  edges?: boolean;
  /** 0 turns temporal stabilisation off; 0..1 sets its strength. */
  temporal?: number;
}

/**
 * Turns a model-resolution matte into the full-resolution alpha: temporal stabilisation at model
 * resolution first (cheap, and it needs the same-resolution luma the model saw), then edge-aware
 * guided upsampling against the full-resolution frame, then a hold of the output alpha where the
 * frame's own pixels did not change.
 */
export class MatteRefiner {
  private readonly upsampler: GuidedUpsampler | undefined;
  private readonly stabiliser: TemporalStabiliser | undefined;
  private readonly hold: OutputStabiliser | undefined;
  private readonly stable: Float32Array;

  constructor(
    tier: TierConfig,
    private readonly width: number,
    private readonly height: number,
    private readonly matteWidth: number,
    private readonly matteHeight: number,
    overrides: RefineOverrides = {},
  ) {
    const edges = overrides.edges ?? tier.refine.guided;
    const strength = overrides.temporal ?? tier.temporal.strength;
    this.upsampler = edges
      ? new GuidedUpsampler({
          width,
          height,
          matteWidth,
          matteHeight,
          ...suggestGuidedParams(width, height, matteWidth, matteHeight),
          eps: tier.refine.eps,
          mode: tier.refine.colorGuide ? 'color' : 'gray',
        })
      : undefined;
    this.stabiliser =
      strength > 0 ? new TemporalStabiliser({ width: matteWidth, height: matteHeight, strength }) : undefined;
    // Only after guided upsampling: its window spreads a moving limb's change over still pixels
    // around it (see OutputStabiliser). A bilinear matte has no such spread to undo.
    this.hold = strength > 0 && edges ? new OutputStabiliser(width, height, strength) : undefined;
    this.stable = new Float32Array(matteWidth * matteHeight);
  }

  refine(frame: RefineInput, alphaOut: Uint8Array): void {
    let matte = frame.matte;
    if (this.stabiliser) {
      this.stabiliser.apply(matte, frame.luma, this.stable);
      matte = this.stable;
    }
    if (this.upsampler) {
      this.upsampler.upsample(matte, frame.rgb, alphaOut);
      this.hold?.apply(alphaOut, frame.rgb);
    } else bilinearUpsample(matte, this.matteWidth, this.matteHeight, alphaOut, this.width, this.height);
  }
}
