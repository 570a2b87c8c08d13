import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AlphacutError, errorCatalog, isAlphacutError, type ErrorCode } from '../core/errors.ts';

/**
 * Every error leaves as `{"error":{code,message,request_id,details?}}` (API.md), including the
 * ones Fastify and its plugins raise themselves (404, bad JSON, body too large, wrong media type).
 */
export function sendError(
  req: FastifyRequest,
  reply: FastifyReply,
  code: ErrorCode,
  message: string,
  details?: Record<string, unknown>,
  status: number = errorCatalog[code],
): FastifyReply {
  return reply.code(status).send({
    error: { code, message, request_id: req.id, ...(details ? { details } : {}) },
  });
}

function fromValidation(err: FastifyError): AlphacutError {
  const context = err.validationContext === 'body' ? '' : `${err.validationContext ?? ''}.`;
  const fields = (err.validation ?? []).map((v) => {
    const path = v.instancePath.replace(/^\//, '').replaceAll('/', '.');
    return { field: `${context}${path}`.replace(/\.$/, '') || '(body)', message: v.message ?? 'invalid' };
  });
  const first = fields[0];
  return new AlphacutError('invalid_request', first ? `${first.field}: ${first.message}` : err.message, {
    fields,
  });
}

/** Fastify/plugin errors by code or status to the nearest catalogue entry. */
function fromFastify(
  err: FastifyError,
  req: FastifyRequest,
): { code: ErrorCode; status: number; message: string } {
  const status = err.statusCode ?? 500;
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'FST_REQ_FILE_TOO_LARGE':
    case 'FST_PARTS_LIMIT':
    case 'FST_FILES_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return { code: 'payload_too_large', status: 413, message: 'The request body is larger than allowed.' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return {
        code: 'unsupported_media',
        status: 415,
        // Fastify's message does not name the type; the header does (bounded: it is echoed).
        message: `Unsupported Content-Type ${JSON.stringify((req.headers['content-type'] ?? '').slice(0, 100))}; send application/json (or multipart/form-data for uploads).`,
      };
    case 'FST_ERR_CTP_INVALID_JSON':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { code: 'invalid_request', status: 400, message: `The body is not valid JSON: ${err.message}` };
  }
  if (status === 404) return { code: 'not_found', status, message: err.message };
  if (status === 413) return { code: 'payload_too_large', status, message: err.message };
  if (status === 415) return { code: 'unsupported_media', status, message: err.message };
  if (status === 429) return { code: 'rate_limited', status, message: err.message };
  if (status >= 400 && status < 500) return { code: 'invalid_request', status, message: err.message };
  return { code: 'internal_error', status: 500, message: 'Internal error.' };
}

export function errorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (hasZodFastifySchemaValidationErrors(err)) {
    const e = fromValidation(err);
    return sendError(req, reply, e.code, e.message, e.details);
  }
  if (isAlphacutError(err)) {
    if (err.code === 'rate_limited' && !reply.hasHeader('retry-after')) reply.header('retry-after', '5');
    const status = err.code === 'canceled' ? 409 : err.httpStatus;
    if (status >= 500) req.log.error({ err }, 'request failed');
    return sendError(req, reply, err.code, err.message, err.details, status);
  }
  const f = fromFastify(err, req);
  if (f.status >= 500) req.log.error({ err }, 'request failed');
  return sendError(req, reply, f.code, f.message, undefined, f.status);
}
