package org.sd3j.onnx.vae;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

import org.sd3j.internal.Checks;
import org.sd3j.tensor.Tensor;

/**
 * Tiled decoding for large images: the latent is cut into overlapping tiles, each decoded on its own, and the
 * decoded tiles are blended with weights that ramp linearly across each overlap (1 inside a tile, falling towards
 * the edge it shares with a neighbour; edges on the image border are not faded), normalized by the summed weights.
 */
final class TiledDecoder {
    private TiledDecoder() {
    }

    /**
     * @param decode     decodes one latent tile {@code [B, C, th, tw]} to {@code [B, 3, th*f, tw*f]}
     * @param latents    {@code [B, C, h, w]}
     * @param tile       tile side in latent cells
     * @param overlap    overlap between neighbouring tiles in latent cells ({@code < tile})
     * @param downscale  pixels per latent cell
     */
    static Tensor decode(UnaryOperator<Tensor> decode, Tensor latents, int tile, int overlap, int downscale) {
        Checks.atLeast(tile, 1, "tileLatentSize");
        Checks.atLeast(overlap, 0, "overlap");
        if (overlap >= tile) {
            throw Checks.fail("overlap", "less than the tile size " + tile, overlap);
        }
        int[] s = latents.shape();
        if (s.length != 4) {
            throw Checks.fail("latents", "[B, C, h, w]", latents);
        }
        List<Integer> ys = starts(s[2], tile, overlap);
        List<Integer> xs = starts(s[3], tile, overlap);
        if (ys.size() == 1 && xs.size() == 1) {
            return decode.apply(latents);
        }
        int f = downscale;
        int outH = s[2] * f;
        int outW = s[3] * f;
        Tensor acc = null;
        float[] weightSum = new float[outH * outW];
        int outC = -1;
        for (int yi = 0; yi < ys.size(); yi++) {
            for (int xi = 0; xi < xs.size(); xi++) {
                int y0 = ys.get(yi);
                int x0 = xs.get(xi);
                int th = Math.min(tile, s[2] - y0);
                int tw = Math.min(tile, s[3] - x0);
                Tensor img = decode.apply(crop(latents, y0, x0, th, tw));
                int[] is = img.shape();
                if (acc == null) {
                    outC = is[1];
                    acc = Tensor.zeros(s[0], outC, outH, outW);
                }
                float[] wy = ramp(th * f, overlap * f, yi > 0, yi < ys.size() - 1);
                float[] wx = ramp(tw * f, overlap * f, xi > 0, xi < xs.size() - 1);
                int py0 = y0 * f;
                int px0 = x0 * f;
                for (int y = 0; y < th * f; y++) {
                    for (int x = 0; x < tw * f; x++) {
                        weightSum[(py0 + y) * outW + px0 + x] += wy[y] * wx[x];
                    }
                }
                for (int b = 0; b < s[0]; b++) {
                    for (int c = 0; c < outC; c++) {
                        int srcBase = (b * outC + c) * th * f * tw * f;
                        int dstBase = (b * outC + c) * outH * outW;
                        for (int y = 0; y < th * f; y++) {
                            for (int x = 0; x < tw * f; x++) {
                                int d = dstBase + (py0 + y) * outW + px0 + x;
                                acc.set(d, acc.get(d) + wy[y] * wx[x] * img.get(srcBase + y * tw * f + x));
                            }
                        }
                    }
                }
            }
        }
        int plane = outH * outW;
        for (int i = 0; i < acc.size(); i++) {
            acc.set(i, acc.get(i) / weightSum[i % plane]);
        }
        return acc;
    }

    /** Tile starts covering {@code n} cells with tiles of {@code tile} advancing by {@code tile - overlap}. */
    static List<Integer> starts(int n, int tile, int overlap) {
        List<Integer> out = new ArrayList<>();
        if (n <= tile) {
            out.add(0);
            return out;
        }
        int stride = tile - overlap;
        int p = 0;
        while (true) {
            if (p + tile >= n) {
                out.add(n - tile);
                break;
            }
            out.add(p);
            p += stride;
        }
        return out;
    }

    /** Per-pixel weights along one axis: linear ramps over {@code fade} pixels on the sides that have neighbours. */
    static float[] ramp(int size, int fade, boolean fadeStart, boolean fadeEnd) {
        float[] w = new float[size];
        for (int i = 0; i < size; i++) {
            float v = 1f;
            if (fadeStart && fade > 0 && i < fade) {
                v = Math.min(v, (i + 0.5f) / fade);
            }
            if (fadeEnd && fade > 0 && size - 1 - i < fade) {
                v = Math.min(v, (size - 1 - i + 0.5f) / fade);
            }
            w[i] = v;
        }
        return w;
    }

    static Tensor crop(Tensor t, int y0, int x0, int h, int w) {
        int[] s = t.shape();
        Tensor out = Tensor.zeros(s[0], s[1], h, w);
        for (int bc = 0; bc < s[0] * s[1]; bc++) {
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    out.set((bc * h + y) * w + x, t.get((bc * s[2] + y0 + y) * s[3] + x0 + x));
                }
            }
        }
        return out;
    }
}
