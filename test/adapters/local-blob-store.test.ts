import { LocalBlobStore } from '../../src/adapters/local-blob-store.ts';
import { tempDir } from '../helpers/media.ts';
import { blobStoreContract } from './blob-store.contract.ts';

blobStoreContract('local disk', async () => {
  const { dir, cleanup } = await tempDir('alphacut-blobs-');
  return { blobs: new LocalBlobStore(`${dir}/blobs`), cleanup };
});
