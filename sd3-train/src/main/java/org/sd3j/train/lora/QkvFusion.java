package org.sd3j.train.lora;

import java.util.ArrayList;
import java.util.List;

import org.sd3j.tensor.Tensor;

/**
 * Exact conversions between one adapter on a fused q|k|v projection [3D, in] and diffusers' three adapters on
 * the q, k and v projections [D, in] (SPEC §7). Internal; stateless.
 */
final class QkvFusion {
    private QkvFusion() {
    }

    /**
     * The three per-projection adapters whose deltas are the row thirds of {@code fused}'s delta (null for a
     * third that is exactly zero while the rest is not: the file then has no adapter there). Each part shares A's
     * rows with the fused adapter; when a part's B uses only a contiguous range of the rank's columns (as after
     * {@link #fuse} of three independent adapters) the part keeps only those columns and A's matching rows, with
     * alpha scaled so that alpha/r is unchanged. The returned tensors may be views of {@code fused}'s.
     *
     * @throws IllegalArgumentException if the output size is not a multiple of 3
     */
    static LoraAdapter[] split(LoraAdapter fused) {
        int out = fused.outFeatures();
        if (out % 3 != 0) {
            throw new IllegalArgumentException("fused qkv adapter must have an output size divisible by 3, found "
                    + fused.b());
        }
        int d = out / 3;
        int r = fused.rank();
        boolean allZero = isZero(fused.b(), 0, out, 0, r);
        LoraAdapter[] parts = new LoraAdapter[3];
        for (int p = 0; p < 3; p++) {
            Tensor bRows = fused.b().slice(p * d, (p + 1) * d);
            if (allZero) {
                parts[p] = new LoraAdapter(fused.a(), bRows, fused.alpha());
                continue;
            }
            int first = -1;
            int last = -1;
            boolean contiguous = true;
            for (int c = 0; c < r; c++) {
                if (!isZero(fused.b(), p * d, (p + 1) * d, c, c + 1)) {
                    if (last >= 0 && last != c - 1) {
                        contiguous = false;
                    }
                    if (first < 0) {
                        first = c;
                    }
                    last = c;
                }
            }
            if (first < 0) {
                parts[p] = null;
            } else if (!contiguous || (first == 0 && last == r - 1)) {
                parts[p] = new LoraAdapter(fused.a(), bRows, fused.alpha());
            } else {
                int rp = last - first + 1;
                parts[p] = new LoraAdapter(fused.a().slice(first, last + 1), columns(bRows, first, last + 1),
                        fused.alpha() * rp / r);
            }
        }
        return parts;
    }

    /**
     * One fused adapter whose delta stacks the parts' deltas as [q | k | v] rows (a null part contributes zero
     * rows). Three parts with bit-identical A, equal rank and equal alpha (what {@link #split} writes) fuse back to
     * that rank: A and B = [B_q; B_k; B_v]. Otherwise the rank is the sum of the parts' ranks: A = [A_q; A_k; A_v],
     * B block-diagonal, and alpha = scale * rank when the parts' scales agree; when they do not, the fused scale is
     * 1 and each block of B is multiplied by its part's scale (exact up to that float multiplication). New tensors.
     *
     * @param parts    q, k, v adapters (length 3), at least one non-null, all with the same input size
     * @param partRows D, the output size of each part
     */
    static LoraAdapter fuse(LoraAdapter[] parts, int partRows) {
        List<Integer> present = new ArrayList<>();
        for (int p = 0; p < 3; p++) {
            if (parts[p] != null) {
                present.add(p);
                int in = parts[present.get(0)].inFeatures();
                if (parts[p].outFeatures() != partRows || parts[p].inFeatures() != in) {
                    throw new IllegalArgumentException("parts must all map " + in + " inputs to " + partRows
                            + " outputs, found B " + parts[p].b() + " x A " + parts[p].a());
                }
            }
        }
        if (present.isEmpty()) {
            throw new IllegalArgumentException("parts must hold at least one adapter, found none");
        }
        LoraAdapter first = parts[present.get(0)];
        if (present.size() == 3 && sameDown(parts)) {
            return new LoraAdapter(first.a().copy(), Tensor.concat(0, parts[0].b(), parts[1].b(), parts[2].b()),
                    first.alpha());
        }
        int rank = 0;
        boolean sameScale = true;
        for (int p : present) {
            rank += parts[p].rank();
            sameScale &= parts[p].scale() == first.scale();
        }
        double fusedScale = sameScale ? first.scale() : 1.0;
        int in = first.inFeatures();
        Tensor a = Tensor.zeros(rank, in);
        Tensor b = Tensor.zeros(3 * partRows, rank);
        int col = 0;
        for (int p : present) {
            LoraAdapter part = parts[p];
            int rp = part.rank();
            a.slice(col, col + rp).copyFrom(part.a());
            float factor = (float) (part.scale() / fusedScale);
            for (int row = 0; row < partRows; row++) {
                for (int k = 0; k < rp; k++) {
                    float v = part.b().get(row * rp + k);
                    b.set((p * partRows + row) * rank + col + k, sameScale ? v : v * factor);
                }
            }
            col += rp;
        }
        return new LoraAdapter(a, b, fusedScale * rank);
    }

    private static boolean sameDown(LoraAdapter[] parts) {
        LoraAdapter q = parts[0];
        for (int p = 1; p < 3; p++) {
            LoraAdapter o = parts[p];
            if (o.rank() != q.rank() || o.alpha() != q.alpha() || !bitEqual(o.a(), q.a())) {
                return false;
            }
        }
        return true;
    }

    private static boolean bitEqual(Tensor x, Tensor y) {
        if (x.size() != y.size()) {
            return false;
        }
        for (int i = 0; i < x.size(); i++) {
            if (Float.floatToRawIntBits(x.get(i)) != Float.floatToRawIntBits(y.get(i))) {
                return false;
            }
        }
        return true;
    }

    /** Whether b[rows, cols] (a [*, r] matrix) is all zeros (either sign). */
    private static boolean isZero(Tensor b, int rowFrom, int rowTo, int colFrom, int colTo) {
        int r = b.dim(1);
        for (int row = rowFrom; row < rowTo; row++) {
            for (int c = colFrom; c < colTo; c++) {
                if (b.get(row * r + c) != 0f) {
                    return false;
                }
            }
        }
        return true;
    }

    private static Tensor columns(Tensor m, int from, int to) {
        int rows = m.dim(0);
        int cols = m.dim(1);
        Tensor out = Tensor.zeros(rows, to - from);
        for (int row = 0; row < rows; row++) {
            for (int c = from; c < to; c++) {
                out.set(row * (to - from) + c - from, m.get(row * cols + c));
            }
        }
        return out;
    }
}
