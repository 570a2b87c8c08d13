import { useEffect, useRef, useState } from 'preact/hooks';
import { canvasPlacement } from '../../../src/sdk/canvas-placement.ts';
import type { JobSettings } from './job-settings.ts';

interface Props {
  /** The source video (object URL of the picked file, or the pasted URL). */
  source: string | null;
  settings: JobSettings;
  /** Object URL of the chosen background file, when the background is an image or video. */
  backgroundSource: { url: string; isVideo: boolean } | null;
}

/** The preview canvas is drawn at most this wide/high; the output size is what the numbers say. */
const maxPreviewSide = 960;

type Drawable = HTMLVideoElement | HTMLImageElement;

function sizeOf(el: Drawable): { w: number; h: number } {
  return el instanceof HTMLVideoElement
    ? { w: el.videoWidth, h: el.videoHeight }
    : { w: el.naturalWidth, h: el.naturalHeight };
}

/** Scaled to cover the rectangle and centre-cropped, as the server does with backgrounds. */
function drawCover(ctx: CanvasRenderingContext2D, el: Drawable, w: number, h: number): void {
  const s = sizeOf(el);
  if (!s.w || !s.h) return;
  const k = Math.max(w / s.w, h / s.h);
  const dw = s.w * k;
  const dh = s.h * k;
  ctx.drawImage(el, (w - dw) / 2, (h - dh) / 2, dw, dh);
}

function drawCheckerboard(ctx: CanvasRenderingContext2D, w: number, h: number): void {
  const cell = 16;
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, w, h);
  ctx.fillStyle = '#d0d0d0';
  for (let y = 0; y < h; y += cell)
    for (let x = (y / cell) % 2 === 0 ? 0 : cell; x < w; x += cell * 2) ctx.fillRect(x, y, cell, cell);
}

/**
 * The first frame placed on the canvas with the same arithmetic as the server's compositor
 * (src/sdk/canvas-placement.ts), over the chosen background. The frame is drawn whole: the
 * preview shows placement and size, the matte comes from the real job.
 */
export function PlacementPreview({ source, settings, backgroundSource }: Props) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const videoRef = useRef<HTMLVideoElement>(null);
  const bgImageRef = useRef<HTMLImageElement>(null);
  const bgVideoRef = useRef<HTMLVideoElement>(null);
  const [frameSize, setFrameSize] = useState<{ w: number; h: number } | null>(null);
  const [tick, setTick] = useState(0);
  const [summary, setSummary] = useState('');

  useEffect(() => setFrameSize(null), [source]);

  useEffect(() => {
    const canvas = canvasRef.current;
    const ctx = canvas?.getContext('2d');
    if (!canvas || !ctx) return;
    const src = frameSize ?? { w: 1280, h: 720 };
    const comp = settings.composition;
    const cw = comp.enabled ? Math.max(2, comp.width || 2) : src.w;
    const ch = comp.enabled ? Math.max(2, comp.height || 2) : src.h;
    const k = Math.min(1, maxPreviewSide / Math.max(cw, ch));
    canvas.width = Math.max(1, Math.round(cw * k));
    canvas.height = Math.max(1, Math.round(ch * k));
    const w = canvas.width;
    const h = canvas.height;
    const frame = frameSize ? videoRef.current : null;

    const bg = settings.background;
    ctx.save();
    if (bg.kind === 'color') {
      ctx.fillStyle = bg.color;
      ctx.fillRect(0, 0, w, h);
    } else if (bg.kind === 'blur' && frame) {
      drawCheckerboard(ctx, w, h);
      ctx.filter = `blur(${((bg.blur / 100) * 0.03 * Math.max(w, h)).toFixed(1)}px)`;
      drawCover(ctx, frame, w, h);
    } else if (bg.kind === 'image' && backgroundSource) {
      drawCheckerboard(ctx, w, h);
      const el = backgroundSource.isVideo ? bgVideoRef.current : bgImageRef.current;
      if (el) drawCover(ctx, el, w, h);
    } else {
      drawCheckerboard(ctx, w, h);
    }
    ctx.restore();

    const p = comp.enabled
      ? canvasPlacement(
          { width: src.w, height: src.h },
          { width: cw, height: ch },
          {
            anchor: comp.anchor,
            scale: comp.scalePercent / 100,
            offset: { x: comp.offsetX, y: comp.offsetY },
          },
        )
      : { canvasWidth: cw, canvasHeight: ch, fgWidth: src.w, fgHeight: src.h, fgX: 0, fgY: 0 };
    const [x, y, fw, fh] = [p.fgX * k, p.fgY * k, p.fgWidth * k, p.fgHeight * k];
    if (frame) ctx.drawImage(frame, x, y, fw, fh);
    else {
      ctx.fillStyle = 'rgba(80, 80, 120, 0.6)';
      ctx.fillRect(x, y, fw, fh);
    }
    ctx.setLineDash([6, 4]);
    ctx.lineWidth = 2;
    ctx.strokeStyle = '#ff2d95';
    ctx.strokeRect(x + 1, y + 1, Math.max(0, fw - 2), Math.max(0, fh - 2));
    setSummary(
      `Canvas ${cw} × ${ch}; video ${p.fgWidth} × ${p.fgHeight} at x ${p.fgX}, y ${p.fgY}` +
        (frameSize ? '' : ' (source size not known yet: 1280 × 720 assumed)'),
    );
  }, [frameSize, settings, backgroundSource, tick]);

  return (
    <figure class="preview">
      <canvas ref={canvasRef} role="img" aria-label={`Placement preview. ${summary}`} />
      <figcaption>
        <span role="status">{summary}</span>
        <br />
        <span class="muted">First frame shown whole; the result has its background removed.</span>
      </figcaption>
      {source && (
        <video
          ref={videoRef}
          class="offscreen"
          src={source}
          muted
          playsInline
          preload="auto"
          aria-hidden="true"
          tabIndex={-1}
          onLoadedData={(e) => {
            const v = e.currentTarget;
            setFrameSize({ w: v.videoWidth, h: v.videoHeight });
          }}
          onSeeked={() => setTick((t) => t + 1)}
        />
      )}
      {backgroundSource && !backgroundSource.isVideo && (
        <img
          ref={bgImageRef}
          class="offscreen"
          src={backgroundSource.url}
          alt=""
          onLoad={() => setTick((t) => t + 1)}
        />
      )}
      {backgroundSource?.isVideo && (
        <video
          ref={bgVideoRef}
          class="offscreen"
          src={backgroundSource.url}
          muted
          preload="auto"
          aria-hidden="true"
          tabIndex={-1}
          onLoadedData={() => setTick((t) => t + 1)}
        />
      )}
    </figure>
  );
}
