package org.sd3j.onnx.safetensors;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Releases a memory mapping now instead of whenever the garbage collector gets to it, through
 * {@code sun.misc.Unsafe.invokeCleaner} (module jdk.unsupported), as Lucene's MMapDirectory does: a closed
 * multi-gigabyte checkpoint otherwise stays resident until a collection happens to run, and a low-memory pipeline
 * that loads the next encoder meanwhile holds both. Where the method is unavailable it does nothing.
 *
 * <p>After {@link #unmap(ByteBuffer)} any access to the buffer or a slice of it crashes the JVM: call it only when
 * nothing can read the mapping any more.
 */
final class Unmapper {
    private static final Logger LOG = LoggerFactory.getLogger(Unmapper.class);
    private static final Object UNSAFE;
    private static final Method INVOKE_CLEANER;

    static {
        Object unsafe = null;
        Method invoke = null;
        try {
            Class<?> type = Class.forName("sun.misc.Unsafe");
            Field field = type.getDeclaredField("theUnsafe");
            field.setAccessible(true);
            unsafe = field.get(null);
            invoke = type.getMethod("invokeCleaner", ByteBuffer.class);
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.debug("Explicit unmapping unavailable ({}); mappings are released by the garbage collector", e.toString());
        }
        UNSAFE = unsafe;
        INVOKE_CLEANER = invoke;
    }

    private Unmapper() {
    }

    /** Unmaps a buffer returned by {@code FileChannel.map} (not a slice of one). */
    static void unmap(ByteBuffer mapping) {
        if (INVOKE_CLEANER == null || mapping == null || !mapping.isDirect()) {
            return;
        }
        try {
            INVOKE_CLEANER.invoke(UNSAFE, mapping);
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.debug("Unmapping failed ({}); the garbage collector will release it", e.toString());
        }
    }
}
