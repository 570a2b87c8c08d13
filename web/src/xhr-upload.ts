import { ApiError, type Uploader } from '../../src/sdk/alphacut-client.ts';

/** The SDK's upload transport for browsers: XMLHttpRequest, because fetch reports no upload progress. */
export const xhrUploader: Uploader = (req) =>
  new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', req.url);
    for (const [k, v] of Object.entries(req.headers)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) req.onProgress?.(e.loaded, e.total);
    };
    xhr.onload = () => resolve({ status: xhr.status, text: xhr.responseText });
    xhr.onerror = () => reject(new ApiError('network_error', 'The upload was interrupted.', 0));
    xhr.onabort = () => reject(new ApiError('canceled', 'The upload was canceled.', 0));
    req.signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(req.body);
  });
