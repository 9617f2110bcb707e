package org.sd3j.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.sd3j.Sd3Exception;

class CloseablesTest {

    @Test
    void closesEveryResourceInOrderAndRethrowsTheFirstFailureWithTheRestSuppressed() {
        List<String> closed = new ArrayList<>();
        IllegalStateException first = new IllegalStateException("first");
        AutoCloseable a = () -> {
            closed.add("a");
            throw first;
        };
        AutoCloseable b = () -> closed.add("b");
        AutoCloseable c = () -> {
            closed.add("c");
            throw new IOException("disk");
        };
        assertThatThrownBy(() -> Closeables.closeAll(Arrays.asList(a, null, b, c)))
                .isSameAs(first)
                .satisfies(e -> assertThat(e.getSuppressed()).singleElement()
                        .isInstanceOf(Sd3Exception.class)
                        .satisfies(s -> assertThat(s).hasCauseInstanceOf(IOException.class)));
        assertThat(closed).containsExactly("a", "b", "c");
    }

    @Test
    void closeAfterFailureClosesEverythingAndKeepsTheOriginalFailure() {
        List<String> closed = new ArrayList<>();
        IllegalArgumentException original = new IllegalArgumentException("bad weights");
        IllegalStateException closing = new IllegalStateException("close failed");
        RuntimeException thrown = Closeables.closeAfterFailure(original, () -> {
            closed.add("a");
            throw closing;
        }, null, () -> closed.add("b"));
        assertThat(thrown).isSameAs(original);
        assertThat(thrown.getSuppressed()).containsExactly(closing);
        assertThat(closed).containsExactly("a", "b");
    }

    @Test
    void checkedFailureAloneIsWrapped() {
        AutoCloseable c = () -> {
            throw new IOException("disk");
        };
        assertThatThrownBy(() -> Closeables.closeAll(List.of(c)))
                .isInstanceOf(Sd3Exception.class)
                .hasMessageEndingWith("failed: disk");
    }
}
