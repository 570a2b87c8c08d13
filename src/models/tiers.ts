import type { ModelId } from './model-registry.ts';

/**
 * The four product tiers of API.md as named configurations. Speeds are the benchmark's 1080p
 * figures on a 2-core machine (docs/tiers.md); change them only with a new bench run.
 */
export type TierName = 'light' | 'human' | 'original' | 'pro';

export interface TierConfig {
  name: TierName;
  /** 'selfie' picks the square or landscape selfie model from the frame's aspect. */
  model: ModelId | 'selfie';
  /** Model input long side for size-agnostic models (multiple of 32). */
  longSide: number;
  /**
   * Run the model on every Nth frame (and on every scene change); mattes of the frames between
   * two key frames are blended from both, then snapped to each frame's own edges by the refiner.
   */
  keyframeInterval: number;
  /** Mean absolute luma change (0..255) from the last key frame that forces a new key frame. */
  rekeyThreshold: number;
  /** Segment a crop around the main subject(s) (see pipeline/subject-crop.ts); not for fixed-size models. */
  subjectCrop: boolean;
  /**
   * With `subjectCrop`: track the subject over the clip (predicted box, camera-compensated motion
   * cue to find a subject the model misses, distractor regions away from the subject dropped).
   */
  subjectTrack: boolean;
  /**
   * Edge refinement: guided upsampling with a colour or luma guide. Radius and coarse grid follow
   * from how many frame pixels one matte pixel covers (suggestGuidedParams); `eps` (in intensity²)
   * sets how readily edges follow the image: smaller snaps harder.
   */
  refine: { guided: boolean; colorGuide: boolean; eps: number };
  temporal: { strength: number };
  creditsPerMinute: number;
  subjects: string;
}

export const tiers: Record<TierName, TierConfig> = {
  human: {
    name: 'human',
    model: 'selfie',
    longSide: 256,
    keyframeInterval: 1,
    rekeyThreshold: 255,
    subjectCrop: false,
    subjectTrack: false,
    refine: { guided: true, colorGuide: true, eps: 1e-4 },
    temporal: { strength: 0.6 },
    creditsPerMinute: 45,
    subjects: 'people near the camera',
  },
  light: {
    name: 'light',
    model: 'isnet-small',
    longSide: 768,
    keyframeInterval: 4,
    // Measured (bench, 40 frames of dog / dance-twirl): re-keying at 18 follows a moving camera
    // (33 of 40 key frames on dog, J 0.909) and skips still ones (3 of 8 on juggle); at 45 with
    // interval 4 blending across camera motion drops dog to J 0.761; interval 2 at 45 gives
    // 0.882 / 0.731 at ~1.5x speed but halves the speed on static shots.
    rekeyThreshold: 18,
    subjectCrop: true,
    subjectTrack: true,
    refine: { guided: true, colorGuide: true, eps: 1e-4 },
    temporal: { strength: 0.5 },
    creditsPerMinute: 45,
    subjects: 'any subject (people, animals, products)',
  },
  original: {
    name: 'original',
    model: 'isnet-small',
    longSide: 1024,
    keyframeInterval: 1,
    rekeyThreshold: 255,
    subjectCrop: true,
    subjectTrack: true,
    refine: { guided: true, colorGuide: true, eps: 1e-4 },
    // 0.6 → 1 (replayed mattes, 24 frames): flicker −20 % on dog, −6 % on dance-twirl, J −0.001;
    // pixels whose image changed pass through at any strength, so no lag where the image moves.
    temporal: { strength: 1 },
    creditsPerMinute: 60,
    subjects: 'any subject (people, animals, products)',
  },
  pro: {
    name: 'pro',
    model: 'isnet-medium',
    longSide: 1024,
    keyframeInterval: 1,
    rekeyThreshold: 255,
    subjectCrop: true,
    subjectTrack: true,
    refine: { guided: true, colorGuide: true, eps: 5e-5 },
    // 0.7 → 1, as for original (bench, 24 frames, against ISNet-medium's own raw matte): flicker
    // on juggle 0.72 → 0.53 (raw 0.78: −8 % → −32 %), opencv-box 0.31 → 0.16 (raw 0.43); dog
    // 2.86 (raw 7.03) at J 0.934. Pixels whose colour changed still take the new matte at once.
    temporal: { strength: 1 },
    creditsPerMinute: 180,
    subjects: 'any subject (people, animals, products); highest quality',
  },
};

export const tierNames = Object.keys(tiers) as TierName[];

export function isTierName(s: string): s is TierName {
  return Object.hasOwn(tiers, s);
}
