package org.sd3j.train.data;

import java.nio.file.Path;
import java.util.List;

import org.sd3j.Sd3Exception;
import org.sd3j.model.EncoderRole;
import org.sd3j.onnx.safetensors.SafetensorsFile;

/**
 * One cached item's file, open while a batch is assembled from it: its caption and in-place views
 * ({@link CachedTensor}) of its latent distribution and of the encoder outputs it holds. The file is mapped, not
 * read: nothing is decoded until assembly copies it into the batch. Whoever opens it closes it, which invalidates
 * the views. Not thread-safe.
 */
final class CachedItemFile implements AutoCloseable {
    private final SafetensorsFile file;
    private final String caption;
    private final CachedTensor mean;
    private final CachedTensor logvar;
    private final CachedTensor[] tokens;
    private final CachedTensor[] pooled;

    private CachedItemFile(SafetensorsFile file, List<EncoderRole> roles) {
        this.file = file;
        this.caption = file.metadata().getOrDefault("caption", "").strip();
        this.mean = CachedTensor.read(file, CacheFiles.MEAN);
        this.logvar = CachedTensor.read(file, CacheFiles.LOGVAR);
        this.tokens = new CachedTensor[roles.size()];
        this.pooled = new CachedTensor[roles.size()];
        for (int r = 0; r < roles.size(); r++) {
            EncoderRole role = roles.get(r);
            if (file.contains(CacheFiles.tokensName(role))) {
                tokens[r] = CachedTensor.read(file, CacheFiles.tokensName(role));
                if (role.kind() == EncoderRole.Kind.CLIP) {
                    pooled[r] = CachedTensor.read(file, CacheFiles.pooledName(role));
                }
            }
        }
    }

    /**
     * Opens {@code item}'s file in {@code directory} with views of the outputs of {@code roles}.
     *
     * @throws Sd3Exception naming the item and the file if it cannot be read or lacks a tensor every item has
     */
    static CachedItemFile open(Path directory, CachedItem item, List<EncoderRole> roles) {
        Path path = directory.resolve(item.file());
        SafetensorsFile file;
        try {
            file = SafetensorsFile.open(path);
        } catch (Sd3Exception e) {
            throw unreadable(item, path, e);
        }
        try {
            return new CachedItemFile(file, roles);
        } catch (RuntimeException e) {
            file.close();
            throw e instanceof Sd3Exception s ? unreadable(item, path, s) : e;
        }
    }

    private static Sd3Exception unreadable(CachedItem item, Path path, Sd3Exception e) {
        return new Sd3Exception("Cannot read cached item " + item.index() + " (" + item.source() + ") from " + path
                + ": " + e.getMessage() + "; rebuild the cache", e);
    }

    String caption() {
        return caption;
    }

    /** The VAE mean {@code [C, h, w]} in denoiser space. */
    CachedTensor mean() {
        return mean;
    }

    /** The VAE log-variance {@code [C, h, w]} in denoiser space. */
    CachedTensor logvar() {
        return logvar;
    }

    /** The tokens {@code [S, D]} of the {@code r}-th role given to {@link #open}, or null if the file has none. */
    CachedTensor tokens(int r) {
        return tokens[r];
    }

    /** The pooled vector {@code [P]} of the {@code r}-th role (CLIP kinds), or null. */
    CachedTensor pooled(int r) {
        return pooled[r];
    }

    @Override
    public void close() {
        file.close();
    }
}
