package org.sd3j.train;

import static org.assertj.core.api.Assertions.assertThat;

import org.sd3j.tensor.Tensor;

/** Tensor comparisons for sd3-train's tests. */
public final class TensorAssertions {
    private TensorAssertions() {
    }

    /** Same shape and the same bits in every element (NaN payloads and signed zeros included). */
    public static void assertBitEqual(Tensor actual, Tensor expected, String what) {
        assertThat(actual.shape()).as(what + " shape").containsExactly(expected.shape());
        for (int i = 0; i < expected.size(); i++) {
            int a = Float.floatToRawIntBits(actual.get(i));
            int e = Float.floatToRawIntBits(expected.get(i));
            if (a != e) {
                assertThat(actual.get(i)).as(what + "[" + i + "] (bits " + Integer.toHexString(a) + " vs "
                        + Integer.toHexString(e) + ")").isEqualTo(expected.get(i));
                assertThat(a).as(what + "[" + i + "] bits").isEqualTo(e);
            }
        }
    }
}
