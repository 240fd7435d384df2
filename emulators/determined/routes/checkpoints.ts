// Checkpoints: GetCheckpoint (gateway) and the echo route GET /checkpoints/{uuid} that streams the files.
import fs from 'node:fs';
import path from 'node:path';
import type { Router } from '../../common/router';
import { sendJson } from '../../common/body';
import { apiError, echoError } from '../errors';
import { authed, type MasterContext } from '../context';
import { checkpointJson } from '../wire';
import { ARCHIVE_MIME, formatForAccept, streamArchive } from '../archive';

export function addCheckpointRoutes(router: Router, master: MasterContext): void {
  const { store } = master;

  router.get('/api/v1/checkpoints/:uuid', authed(master, (ctx) => {
    const checkpoint = store.checkpoint(ctx.params.uuid);
    if (!checkpoint) throw apiError('NotFound', `checkpoint not found: ${ctx.params.uuid}`);
    sendJson(ctx.res, 200, { checkpoint: checkpointJson(store, checkpoint) });
  }));

  router.get('/checkpoints/:uuid', authed(master, async (ctx) => {
    const format = formatForAccept(ctx.req.headers.accept);
    if (!format) {
      throw echoError(415, `unsupported media type to download a checkpoint: ${ctx.req.headers.accept}; use application/x-tar, application/gzip or application/zip`);
    }
    const checkpoint = store.checkpoint(ctx.params.uuid);
    if (!checkpoint) throw echoError(404, `checkpoint not found: ${ctx.params.uuid}`);
    if (checkpoint.storageType === 'azure') throw echoError(400, 'checkpoint download via master is not supported for azure');
    const dir = path.join(store.stateDir, checkpoint.dir);
    const files = Object.keys(checkpoint.resources).filter((f) => fs.existsSync(path.join(dir, f)));
    if (files.length !== Object.keys(checkpoint.resources).length) throw echoError(404, `checkpoint files missing in storage: ${checkpoint.uuid}`);
    ctx.res.writeHead(200, {
      'content-type': ARCHIVE_MIME[format],
      'content-disposition': `attachment; filename="${checkpoint.uuid}.${format === 'zip' ? 'zip' : format === 'gzip' ? 'tar.gz' : 'tar'}"`,
    });
    await streamArchive(dir, files, format, ctx.res);
  }));
}
