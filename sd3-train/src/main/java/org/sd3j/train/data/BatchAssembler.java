package org.sd3j.train.data;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import org.sd3j.Sd3Exception;
import org.sd3j.conditioning.Conditioning;
import org.sd3j.conditioning.ConditioningLayout;
import org.sd3j.conditioning.PromptEncoder;
import org.sd3j.model.EncodedText;
import org.sd3j.model.EncoderRole;
import org.sd3j.random.TorchGenerator;
import org.sd3j.tensor.Tensor;

/**
 * Reads a batch's items from the cache and assembles the training tensors, applying caption dropout, encoder
 * dropout and latent sampling from random streams seeded by the batch's position ({@link Seeds}). Immutable and
 * thread-safe (it only reads files).
 */
final class BatchAssembler {
    private final Path directory;
    private final List<CachedItem> items;
    private final ConditioningLayout layout;
    private final List<EncoderRole> roles;
    private final Map<EncoderRole, EncodedText> emptyCaption;
    private final CachedDataset.Options options;

    BatchAssembler(Path directory, List<CachedItem> items, ConditioningLayout layout, List<EncoderRole> roles,
                   Map<EncoderRole, EncodedText> emptyCaption, CachedDataset.Options options) {
        this.directory = directory;
        this.items = items;
        this.layout = layout;
        this.roles = List.copyOf(roles);
        this.emptyCaption = emptyCaption;
        this.options = options;
    }

    TrainingBatch assemble(IterationState position, List<Integer> batch) {
        int b = batch.size();
        List<CacheFiles.ItemData> data = new ArrayList<>(b);
        for (int index : batch) {
            CachedItem item = items.get(index);
            try {
                data.add(CacheFiles.readItem(directory.resolve(item.file()), layout));
            } catch (Sd3Exception e) {
                throw new Sd3Exception("Cannot read cached item " + index + " (" + item.source() + ") from "
                        + directory.resolve(item.file()) + ": " + e.getMessage() + "; rebuild the cache", e);
            }
        }
        // Draw every sample's dropout decisions up front, in a fixed order, so they do not depend on file contents.
        Random dropout = new Random(Seeds.derive(options.seed(), Seeds.DROPOUT, position.epoch(), position.index()));
        boolean[] captionDropped = new boolean[b];
        List<Set<EncoderRole>> dropped = new ArrayList<>(b);
        for (int i = 0; i < b; i++) {
            captionDropped[i] = dropout.nextDouble() < options.captionDropout();
            Set<EncoderRole> roleDrops = new HashSet<>();
            for (EncoderRole role : roles) {
                if (dropout.nextDouble() < options.encoderDropout(role)) {
                    roleDrops.add(role);
                }
            }
            dropped.add(roleDrops);
        }
        Map<EncoderRole, EncodedText> outputs = new LinkedHashMap<>();
        for (EncoderRole role : roles) {
            outputs.put(role, stack(role, batch, data, captionDropped, dropped));
        }
        Conditioning conditioning = PromptEncoder.assemble(layout, b, outputs);
        Tensor latents = latents(position, data);
        List<BatchSample> samples = new ArrayList<>(b);
        for (int i = 0; i < b; i++) {
            CachedItem item = items.get(batch.get(i));
            samples.add(new BatchSample(item.index(), item.source(), data.get(i).caption(), captionDropped[i],
                    dropped.get(i)));
        }
        return new TrainingBatch(position, items.get(batch.get(0)).bucket(), latents, conditioning, samples);
    }

    /** One role's outputs for the batch: each sample's caption, the empty caption's, or zeros. */
    private EncodedText stack(EncoderRole role, List<Integer> batch, List<CacheFiles.ItemData> data,
                              boolean[] captionDropped, List<Set<EncoderRole>> dropped) {
        EncodedText empty = emptyCaption.get(role);
        int b = data.size();
        int[] ts = empty.tokens().shape();
        Tensor tokens = Tensor.zeros(b, ts[1], ts[2]);
        Tensor pooled = empty.pooled() == null ? null : Tensor.zeros(b, empty.pooled().dim(1));
        for (int i = 0; i < b; i++) {
            if (dropped.get(i).contains(role)) {
                continue; // Zeros: what the slot holds when the encoder is absent (SPEC §3).
            }
            EncodedText source = captionDropped[i] ? empty : data.get(i).outputs().get(role);
            if (source == null || !source.tokens().hasShape(ts)) {
                throw new Sd3Exception("Cached item " + batch.get(i) + " has " + (source == null ? "no "
                        + role + " output" : role + " tokens " + source.tokens()) + " where the cache's empty caption"
                        + " has " + empty.tokens() + "; rebuild the cache");
            }
            copyInto(tokens, i, source.tokens());
            if (pooled != null) {
                copyInto(pooled, i, source.pooled());
            }
        }
        return new EncodedText(tokens, pooled);
    }

    private Tensor latents(IterationState position, List<CacheFiles.ItemData> data) {
        int[] s = data.get(0).mean().shape();
        int per = data.get(0).mean().size();
        Tensor out = Tensor.zeros(data.size(), s[0], s[1], s[2]);
        float[] noise = null;
        if (options.latentSampling() == LatentSampling.SAMPLE) {
            noise = new float[out.size()];
            new TorchGenerator(Seeds.derive(options.seed(), Seeds.LATENT, position.epoch(), position.index()))
                    .fillNormal(noise, 0, noise.length);
        }
        for (int i = 0; i < data.size(); i++) {
            Tensor mean = data.get(i).mean();
            Tensor logvar = data.get(i).logvar();
            if (!mean.hasShape(s)) {
                throw new Sd3Exception("Cached latents " + mean + " and " + data.get(0).mean() + " in one bucket's"
                        + " batch: the cache is inconsistent; rebuild it");
            }
            for (int k = 0; k < per; k++) {
                float v = mean.get(k);
                if (noise != null) {
                    v += (float) Math.exp(0.5 * logvar.get(k)) * noise[i * per + k];
                }
                out.set(i * per + k, v);
            }
        }
        return out;
    }

    private static void copyInto(Tensor batch, int i, Tensor one) {
        int per = one.size();
        for (int k = 0; k < per; k++) {
            batch.set(i * per + k, one.get(k));
        }
    }
}
