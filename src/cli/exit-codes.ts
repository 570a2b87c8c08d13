import type { ErrorCode } from '../core/errors.ts';

/**
 * Documented exit codes of the `alphacut` command (README "Exit codes"). Scripts branch on them,
 * so they are part of the CLI's contract.
 */
export const exitCodes = {
  ok: 0,
  internal: 1,
  usage: 2,
  badInput: 3,
  decodeFailed: 4,
  encodeFailed: 5,
  modelUnavailable: 6,
  canceled: 130,
} as const;

export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'invalid_request':
    case 'text_prompt_unsupported':
    case 'alpha_not_supported':
      return exitCodes.usage;
    case 'unsupported_media':
    case 'input_too_long':
    case 'payload_too_large':
      return exitCodes.badInput;
    case 'decode_failed':
      return exitCodes.decodeFailed;
    case 'encode_failed':
      return exitCodes.encodeFailed;
    case 'model_unavailable':
      return exitCodes.modelUnavailable;
    case 'canceled':
      return exitCodes.canceled;
    default:
      return exitCodes.internal;
  }
}
