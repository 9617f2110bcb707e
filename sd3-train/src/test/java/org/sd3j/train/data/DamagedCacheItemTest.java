package org.sd3j.train.data;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.Sd3Exception;
import org.sd3j.onnx.safetensors.SafetensorsFile;
import org.sd3j.onnx.safetensors.SafetensorsWriter;
import org.sd3j.tensor.Tensor;

/**
 * A cache item file that no longer fits its cache (edited, or written by another build) fails the batch holding it
 * with a message naming the item, what is wrong and the fix: rebuilding the cache; an empty-caption file that does
 * not fit the layout fails opening. Two 32x32 items of {@link SmallModel}, assembled together without dropout.
 */
class DamagedCacheItemTest {
    @TempDir
    Path tmp;
    private PrecomputeCache cache;

    @BeforeEach
    void build() {
        Path data = tmp.resolve("data");
        TestImages.withCaption(data, "a.png", 32, 32, 1, "first");
        TestImages.withCaption(data, "b.png", 32, 32, 2, "second");
        cache = PrecomputeCache.build(ImageCaptionDataset.scan(data, AspectBuckets.single(32, 32)),
                SmallModel.model(), tmp.resolve("cache"));
    }

    /** Rewrites item {@code index}'s file with its tensors (as F32) passed through {@code edit}. */
    private Path rewrite(int index, UnaryOperator<Map<String, Tensor>> edit) {
        return rewrite(cache.directory().resolve(cache.items().get(index).file()), edit);
    }

    private static Path rewrite(Path file, UnaryOperator<Map<String, Tensor>> edit) {
        Map<String, Tensor> tensors = new TreeMap<>();
        SafetensorsWriter w = SafetensorsWriter.create();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            f.metadata().forEach(w::metadata);
            for (String name : f.names()) {
                tensors.put(name, f.toFloatTensor(name));
            }
        }
        edit.apply(tensors).forEach(w::add);
        w.write(file);
        return file;
    }

    private TrainingBatch assembleBoth() {
        CachedDataset d = CachedDataset.open(cache, cache.fingerprint(), CachedDataset.Options.builder()
                .batchSize(2).encoderDropout(0).build());
        return d.assemble(IterationState.START, List.of(0, 1), BatchBuffers.reusing());
    }

    @Test
    void tokensOfAnotherShapeAreRefused() {
        rewrite(1, t -> {
            t.put("t5xxl.tokens", Tensor.zeros(5, 16));
            return t;
        });
        assertThatThrownBy(this::assembleBoth).isInstanceOf(Sd3Exception.class).hasMessage("Cached item 1 has"
                + " t5xxl tokens Tensor[1, 5, 16] where the cache's empty caption has Tensor[1, 6, 16]; rebuild the"
                + " cache");
    }

    @Test
    void aMissingEncoderOutputIsRefused() {
        rewrite(0, t -> {
            t.remove("clip_g.tokens");
            t.remove("clip_g.pooled");
            return t;
        });
        assertThatThrownBy(this::assembleBoth).isInstanceOf(Sd3Exception.class).hasMessage("Cached item 0 has no"
                + " clip_g output where the cache's empty caption has Tensor[1, 4, 12]; rebuild the cache");
    }

    @Test
    void aPooledVectorOfAnotherWidthIsRefused() {
        rewrite(0, t -> {
            t.put("clip_l.pooled", Tensor.zeros(7));
            return t;
        });
        assertThatThrownBy(this::assembleBoth).isInstanceOf(Sd3Exception.class).hasMessage("Cached item 0 has"
                + " clip_l pooled Tensor[1, 7] where the cache's empty caption has Tensor[1, 8]; rebuild the cache");
    }

    @Test
    void latentsOfAnotherSizeInTheBatchAreRefused() {
        rewrite(1, t -> {
            t.put("latent.mean", Tensor.zeros(4, 4, 5));
            t.put("latent.logvar", Tensor.zeros(4, 4, 5));
            return t;
        });
        assertThatThrownBy(this::assembleBoth).isInstanceOf(Sd3Exception.class).hasMessage("Cached latents"
                + " Tensor[4, 4, 5] and Tensor[4, 4, 4] in one bucket's batch: the cache is inconsistent; rebuild it");
    }

    @Test
    void aLogVarianceOfAnotherShapeIsRefused() {
        rewrite(0, t -> {
            t.put("latent.logvar", Tensor.zeros(4, 4, 5));
            return t;
        });
        assertThatThrownBy(this::assembleBoth).isInstanceOf(Sd3Exception.class).hasMessage("Cached item 0 has"
                + " latent log-variance Tensor[4, 4, 5] for latent mean Tensor[4, 4, 4]; rebuild the cache");
    }

    @Test
    void anUnreadableItemNamesItsFile() {
        Path file = rewrite(1, t -> {
            t.remove("latent.logvar");
            return t;
        });
        assertThatThrownBy(this::assembleBoth).isInstanceOf(Sd3Exception.class)
                .hasMessageStartingWith("Cannot read cached item 1 (b.png) from " + file + ": ")
                .hasMessageContaining("latent.logvar")
                .hasMessageEndingWith("; rebuild the cache");
    }

    @Test
    void anEmptyCaptionThatDoesNotFitTheLayoutFailsOpening() {
        Path file = rewrite(cache.directory().resolve(CacheManifest.EMPTY_CAPTION_FILE), t -> {
            t.put("clip_g.tokens", Tensor.zeros(4, 11));
            return t;
        });
        assertThatThrownBy(this::assembleBoth).isInstanceOf(Sd3Exception.class).hasMessage(file + " does not fit"
                + " the cache's conditioning layout: tokens of clip_g must be [1, S, 12], found Tensor[1, 4, 11];"
                + " rebuild the cache");
    }
}
