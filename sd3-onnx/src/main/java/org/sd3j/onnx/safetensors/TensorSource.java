package org.sd3j.onnx.safetensors;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.sd3j.ModelLoadException;
import org.sd3j.tensor.Tensor;

/**
 * Read side of one safetensors file ({@link SafetensorsFile}) or of a sharded checkpoint
 * ({@link ShardedSafetensors}); {@link Safetensors#open(Path)} picks the right one.
 *
 * <p><b>Validation.</b> The whole header is validated when the source is opened, so a source that opened
 * successfully only fails later on I/O errors (or a file changed underneath it).
 *
 * <p><b>Threads.</b> Implementations are thread-safe: any number of threads may read concurrently.
 *
 * <p><b>Ownership and lifetimes.</b> Whoever opens a source closes it. Buffers returned by {@link #bytes(String)}
 * and by {@link #forInference(String)} for F32/F16 tensors are zero-copy views of memory mappings and are valid
 * until {@link #close()}; they must not be used afterwards. (Java 17 cannot unmap explicitly: such a buffer
 * stays readable until it is garbage-collected, but if the file is truncated or replaced meanwhile, reading it
 * may crash the JVM.) {@link Tensor}s and converted buffers are new allocations owned by the caller and outlive
 * the source. Using a closed source throws {@link IllegalStateException}; {@code close()} is idempotent.
 *
 * <p><b>Errors.</b> Problems with the file (including a missing tensor) are {@link ModelLoadException}s whose
 * message names the file and the tensor; a {@code null} name is an {@link IllegalArgumentException}.
 */
public interface TensorSource extends AutoCloseable {

    /** The tensor names, sorted (by {@link String#compareTo}), unmodifiable. */
    Set<String> names();

    /**
     * The header entry of {@code name}.
     *
     * @throws ModelLoadException if there is no such tensor: {@code "<file>: missing tensor 'x'"}
     */
    TensorInfo info(String name);

    /** The header entry of {@code name}, or empty if there is none. */
    Optional<TensorInfo> find(String name);

    /** Whether a tensor called {@code name} exists. */
    default boolean contains(String name) {
        return find(name).isPresent();
    }

    /**
     * The file's {@code __metadata__} (unmodifiable, possibly empty). For a sharded checkpoint: the index's
     * {@code "metadata"} (non-string values as their JSON text) merged over the shards' {@code __metadata__}.
     */
    Map<String, String> metadata();

    /**
     * The raw little-endian bytes of {@code name}: a read-only, direct, zero-copy slice of a memory mapping. Files
     * are mapped in pieces of whole tensors (see {@link SafetensorsFile}), so checkpoints of any size load, but a
     * single tensor is limited to 2 GB, the most one mapping can hold. Position 0,
     * {@code remaining() == capacity() == info(name).byteSize()}, byte order little-endian; the tensor's
     * alignment in memory is its alignment in the file. Every call returns a new buffer object over the same
     * memory. Valid until close.
     *
     * @throws ModelLoadException for a missing tensor, a tensor larger than 2 GB, or an I/O error
     */
    ByteBuffer bytes(String name);

    /**
     * The file that holds {@code name}, for error messages.
     *
     * @throws ModelLoadException if there is no such tensor
     */
    Path pathOf(String name);

    /**
     * The values of {@code name} converted to float32 in a new direct little-endian buffer owned by the caller:
     * F32 is copied; F16, BF16, F64 and the F8 types are converted exactly (F64 rounds to nearest); integer and
     * BOOL types are converted as by a Java {@code (float)} cast. C64 is rejected.
     *
     * @throws ModelLoadException for a missing tensor, an unsupported dtype, a tensor too large for a
     *                            {@link Tensor} (more than {@code Integer.MAX_VALUE / 4} elements), or an I/O error
     */
    Tensor toFloatTensor(String name);

    /**
     * The integer values of {@code name} (BOOL, U8, I8, I16, U16, I32, U32, I64, U64) as {@code long}s, e.g. token
     * ids in test data.
     *
     * @throws ModelLoadException for a missing tensor, a non-integer dtype, a U64 value above
     *                            {@code Long.MAX_VALUE}, or a tensor with more than {@code Integer.MAX_VALUE}
     *                            elements
     */
    long[] toLongArray(String name);

    /**
     * {@code name} prepared for ONNX Runtime's CPU provider: F32 and F16 return {@link #bytes(String)} as they
     * are (zero-copy, valid until close); BF16, which the CPU provider cannot compute in, is converted exactly
     * to F32 in a new direct buffer owned by the caller.
     *
     * @throws ModelLoadException for a missing tensor, any other dtype, a tensor larger than 2 GB (after
     *                            conversion), or an I/O error
     */
    LoadedTensor forInference(String name);

    /** Releases the file handles; idempotent. Buffers handed out before must not be used afterwards. */
    @Override
    void close();
}
