package org.sd3j.onnx.graph;

import java.util.ArrayList;
import java.util.List;

/** Static shape rules of the ops, as far as shapes are known. */
final class Shapes {
    private Shapes() {
    }

    static List<Dim> broadcast(Value a, Value b) {
        if (a.shape() == null || b.shape() == null) {
            return null;
        }
        int rank = Math.max(a.rank(), b.rank());
        List<Dim> out = new ArrayList<>();
        for (int i = 0; i < rank; i++) {
            Dim da = i < rank - a.rank() ? Dim.of(1) : a.dim(i - (rank - a.rank()));
            Dim db = i < rank - b.rank() ? Dim.of(1) : b.dim(i - (rank - b.rank()));
            if (da.isKnown() && da.size() == 1) {
                out.add(db);
            } else if (db.isKnown() && db.size() == 1) {
                out.add(da);
            } else if (da.isKnown() && db.isKnown() && da.size() != db.size()) {
                throw new IllegalArgumentException("shapes must broadcast, found " + a + " and " + b);
            } else {
                out.add(da.isKnown() || da.isSymbolic() ? da : db);
            }
        }
        return out;
    }

    static List<Dim> matMul(Value a, Value b) {
        if (a.shape() != null && b.shape() != null && a.rank() == 1 && b.rank() >= 2) {
            // A vector times a (batch of) matrix: numpy's rule, the vector's axis contracted and no row axis left.
            List<Dim> out = new ArrayList<>(b.shape().subList(0, b.rank() - 2));
            out.add(b.dim(-1));
            return out;
        }
        if (a.shape() == null || b.shape() == null || a.rank() < 2 || b.rank() < 2) {
            return null;
        }
        Dim k1 = a.dim(-1);
        Dim k2 = b.dim(-2);
        if (k1.isKnown() && k2.isKnown() && k1.size() != k2.size()) {
            throw new IllegalArgumentException("matMul inner dimensions must agree, found " + a + " and " + b);
        }
        int rank = Math.max(a.rank(), b.rank());
        List<Dim> out = new ArrayList<>();
        for (int i = 0; i < rank - 2; i++) {
            int ia = i - (rank - a.rank());
            int ib = i - (rank - b.rank());
            Dim da = ia < 0 ? Dim.of(1) : a.dim(ia);
            Dim db = ib < 0 ? Dim.of(1) : b.dim(ib);
            out.add(da.isKnown() && da.size() == 1 ? db : da);
        }
        out.add(a.dim(-2));
        out.add(b.dim(-1));
        return out;
    }

    static List<Dim> reshape(Value x, long[] shape) {
        List<Dim> out = new ArrayList<>();
        int inferred = -1;
        long knownProduct = 1;
        for (int i = 0; i < shape.length; i++) {
            long s = shape[i];
            if (s == 0) {
                Dim d = x.shape() == null ? Dim.unknown() : x.dim(i);
                out.add(d);
                if (d.isKnown()) {
                    knownProduct *= d.size();
                } else {
                    knownProduct = -1;
                }
            } else if (s == -1) {
                inferred = i;
                out.add(Dim.unknown());
            } else {
                out.add(Dim.of(s));
                if (knownProduct > 0) {
                    knownProduct *= s;
                }
            }
        }
        if (inferred >= 0 && knownProduct > 0 && x.shape() != null) {
            long total = 1;
            for (Dim d : x.shape()) {
                if (!d.isKnown()) {
                    return out;
                }
                total *= d.size();
            }
            out.set(inferred, Dim.of(total / knownProduct));
        }
        return out;
    }

    static List<Dim> concat(int axis, Value... parts) {
        if (parts[0].shape() == null) {
            return null;
        }
        int a = axis < 0 ? axis + parts[0].rank() : axis;
        List<Dim> out = new ArrayList<>(parts[0].shape());
        long sum = 0;
        for (Value p : parts) {
            if (p.shape() == null || !p.dim(a).isKnown()) {
                sum = -1;
                break;
            }
            sum += p.dim(a).size();
        }
        out.set(a, sum < 0 ? Dim.unknown() : Dim.of(sum));
        return out;
    }
}
