package org.sd3j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class TensorTest {

    private static Tensor iota(int... shape) {
        Tensor t = Tensor.zeros(shape);
        for (int i = 0; i < t.size(); i++) {
            t.set(i, i);
        }
        return t;
    }

    @Nested
    class Creation {
        @Test
        void zerosIsDirectLittleEndianAndZeroFilled() {
            Tensor t = Tensor.zeros(2, 3);
            FloatBuffer b = t.asFloatBuffer();
            assertThat(b.isDirect()).isTrue();
            assertThat(b.order()).isEqualTo(ByteOrder.LITTLE_ENDIAN);
            assertThat(t.toArray()).containsOnly(0f);
            assertThat(t.size()).isEqualTo(6);
        }

        @Test
        void ofCopiesValues() {
            float[] values = {1, 2, 3, 4};
            Tensor t = Tensor.of(values, 2, 2);
            values[0] = 99;
            assertThat(t.at(0, 0)).isEqualTo(1f);
            assertThat(t.at(1, 0)).isEqualTo(3f);
        }

        @Test
        void ofRejectsWrongLength() {
            assertThatThrownBy(() -> Tensor.of(new float[3], 2, 2))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("values.length must be 4 to fill shape [2, 2], found 3");
        }

        @Test
        void rejectsNegativeDimensions() {
            assertThatThrownBy(() -> Tensor.zeros(2, -1))
                    .hasMessage("shape must have dimensions >= 0, found [2, -1]");
        }

        @Test
        void rejectsShapesBeyondIntSize() {
            assertThatThrownBy(() -> Tensor.zeros(65536, 65536))
                    .hasMessage("shape must have at most 2147483647 elements, found [65536, 65536]");
        }

        @Test
        void wrapSharesDirectBufferFromItsPosition() {
            FloatBuffer b = ByteBuffer.allocateDirect(6 * 4).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            b.position(2);
            Tensor t = Tensor.wrap(b, 2, 2);
            t.set(0, 7f);
            assertThat(b.get(2)).isEqualTo(7f);
        }

        @Test
        void wrapRejectsHeapAndBigEndianBuffers() {
            assertThatThrownBy(() -> Tensor.wrap(FloatBuffer.allocate(4), 4))
                    .hasMessage("buffer must be direct, found a heap buffer");
            FloatBuffer big = ByteBuffer.allocateDirect(16).order(ByteOrder.BIG_ENDIAN).asFloatBuffer();
            assertThatThrownBy(() -> Tensor.wrap(big, 4))
                    .hasMessage("buffer must be little-endian, found BIG_ENDIAN");
        }

        @Test
        void wrapRejectsWrongRemaining() {
            FloatBuffer b = ByteBuffer.allocateDirect(16).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            assertThatThrownBy(() -> Tensor.wrap(b, 3))
                    .hasMessage("buffer.remaining() must be 3 for shape [3], found 4");
        }
    }

    @Nested
    class Views {
        @Test
        void asFloatBufferIsIndependentOfInternalPosition() {
            Tensor t = iota(4);
            FloatBuffer b = t.asFloatBuffer();
            b.position(3);
            assertThat(t.asFloatBuffer().position()).isZero();
            assertThat(t.get(0)).isEqualTo(0f);
        }

        @Test
        void reshapeSharesStorage() {
            Tensor t = iota(2, 3);
            Tensor r = t.reshape(3, 2);
            r.set(5, -1f);
            assertThat(t.at(1, 2)).isEqualTo(-1f);
            assertThat(r.shape()).containsExactly(3, 2);
        }

        @Test
        void reshapeRejectsOtherSizes() {
            assertThatThrownBy(() -> iota(2, 3).reshape(4, 2))
                    .hasMessage("newShape must have 6 elements like [2, 3], found [4, 2]");
        }

        @Test
        void sliceIsAViewAlongDimensionZero() {
            Tensor t = iota(3, 2);
            Tensor s = t.slice(1, 3);
            assertThat(s.shape()).containsExactly(2, 2);
            assertThat(s.toArray()).containsExactly(2, 3, 4, 5);
            s.set(0, 42f);
            assertThat(t.get(2)).isEqualTo(42f);
        }

        @Test
        void sliceRejectsOutOfRange() {
            assertThatThrownBy(() -> iota(3, 2).slice(2, 4))
                    .hasMessage("slice must be within [0, 3] along dimension 0, found [2, 4)");
        }

        @Test
        void shapeIsADefensiveCopy() {
            Tensor t = Tensor.zeros(2, 3);
            t.shape()[0] = 9;
            assertThat(t.dim(0)).isEqualTo(2);
            assertThat(t.dim(-1)).isEqualTo(3);
        }
    }

    @Nested
    class Indexing {
        @Test
        void rowMajorFlatIndex() {
            Tensor t = iota(2, 3, 4);
            assertThat(t.flatIndex(1, 2, 3)).isEqualTo(23);
            assertThat(t.at(1, 0, 2)).isEqualTo(14f);
        }

        @Test
        void outOfBoundsIndexNamesShape() {
            assertThatThrownBy(() -> iota(2, 3).at(2, 0))
                    .isInstanceOf(IndexOutOfBoundsException.class)
                    .hasMessage("index [2, 0] is outside shape [2, 3]");
        }

        @Test
        void wrongIndexRank() {
            assertThatThrownBy(() -> iota(2, 3).at(1))
                    .hasMessage("index must have 2 entries, found 1");
        }

        @Test
        void badAxis() {
            assertThatThrownBy(() -> iota(2, 3).dim(2))
                    .hasMessage("axis must be in [-2, 2), found 2");
        }
    }

    @Nested
    class Math {
        @Test
        void addScaledIsFloat32Axpy() {
            Tensor x = Tensor.of(new float[] {1f, 0.1f}, 2);
            Tensor v = Tensor.of(new float[] {2f, 0.3f}, 2);
            x.addScaled(v, -0.25f);
            assertThat(x.toArray()).containsExactly(0.5f, 0.1f + -0.25f * 0.3f);
        }

        @Test
        void addScaledRejectsSizeMismatch() {
            assertThatThrownBy(() -> Tensor.zeros(2).addScaled(Tensor.zeros(3), 1f))
                    .hasMessage("other must have 2 elements [2], found 3 [3]");
        }

        @Test
        void scaleFillCopy() {
            Tensor t = iota(3).scale(2f);
            Tensor c = t.copy();
            t.fill(1f);
            assertThat(c.toArray()).containsExactly(0f, 2f, 4f);
            assertThat(t.toArray()).containsExactly(1f, 1f, 1f);
        }

        @Test
        void allFiniteDetectsNanAndInfinity() {
            Tensor t = iota(3);
            assertThat(t.allFinite()).isTrue();
            t.set(1, Float.NaN);
            assertThat(t.allFinite()).isFalse();
            t.set(1, Float.NEGATIVE_INFINITY);
            assertThat(t.allFinite()).isFalse();
        }

        @Test
        void maxAbsDiff() {
            assertThat(iota(3).maxAbsDiff(Tensor.of(new float[] {0f, 1.5f, 2f}, 3))).isEqualTo(0.5);
        }
    }

    @Nested
    class Reshaping {
        @Test
        void concatAlongLastAxisInterleavesRows() {
            Tensor a = iota(2, 2);
            Tensor b = Tensor.full(9f, 2, 1);
            Tensor c = Tensor.concat(-1, a, b);
            assertThat(c.shape()).containsExactly(2, 3);
            assertThat(c.toArray()).containsExactly(0, 1, 9, 2, 3, 9);
        }

        @Test
        void concatAlongMiddleAxis() {
            Tensor a = iota(2, 1, 2);
            Tensor b = Tensor.full(-1f, 2, 2, 2);
            Tensor c = Tensor.concat(1, a, b);
            assertThat(c.shape()).containsExactly(2, 3, 2);
            assertThat(c.toArray()).containsExactly(0, 1, -1, -1, -1, -1, 2, 3, -1, -1, -1, -1);
        }

        @Test
        void concatAlongBatch() {
            Tensor c = Tensor.concat(0, iota(1, 2), Tensor.full(5f, 2, 2));
            assertThat(c.toArray()).containsExactly(0, 1, 5, 5, 5, 5);
        }

        @Test
        void concatRejectsMismatchedDimensions() {
            assertThatThrownBy(() -> Tensor.concat(0, Tensor.zeros(1, 2), Tensor.zeros(1, 3)))
                    .hasMessage("parts must agree outside axis 0: [1, 2] vs [1, 3]");
            assertThatThrownBy(() -> Tensor.concat(0))
                    .hasMessage("parts must be non-empty, found 0 tensors");
        }

        @Test
        void repeatStacksWholeTensor() {
            Tensor r = iota(1, 2).repeat(3);
            assertThat(r.shape()).containsExactly(3, 2);
            assertThat(r.toArray()).containsExactly(0, 1, 0, 1, 0, 1);
        }

        @Test
        void padLastDimAppendsZeros() {
            Tensor p = iota(2, 2).padLastDim(3);
            assertThat(p.toArray()).containsExactly(0, 1, 0, 2, 3, 0);
            assertThatThrownBy(() -> iota(2, 2).padLastDim(1)).hasMessage("width must be >= 2, found 1");
        }
    }
}
