package org.sd3j.train.data;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import org.sd3j.conditioning.ConditioningLayout;
import org.sd3j.model.EncodedText;
import org.sd3j.model.EncoderRole;
import org.sd3j.onnx.safetensors.DType;
import org.sd3j.onnx.safetensors.SafetensorsFile;
import org.sd3j.onnx.safetensors.SafetensorsWriter;
import org.sd3j.tensor.Tensor;

/**
 * The safetensors files of a cache: one per item ({@code latent.mean}, {@code latent.logvar} {@code [C, h, w]},
 * {@code <role>.tokens} {@code [S, D]}, {@code <role>.pooled} {@code [P]}; metadata {@code source}, {@code bucket},
 * {@code caption}) and the empty caption's encoder outputs. Tensors are stored as F16, or F32 when a value
 * exceeds the F16 range (65504) and would become infinite.
 */
final class CacheFiles {
    static final String FORMAT_KEY = "format";
    static final String ITEM_FORMAT = "sd3j-cache-item";
    static final String EMPTY_CAPTION_FORMAT = "sd3j-cache-empty-caption";
    static final String MEAN = "latent.mean";
    static final String LOGVAR = "latent.logvar";
    private static final float F16_MAX = 65504f;

    /**
     * One item's contents as written: latents {@code [C, h, w]}, outputs by role with batch 1, caption. (Training
     * reads items in place instead, through {@link CachedItemFile}.)
     */
    record ItemData(Tensor mean, Tensor logvar, Map<EncoderRole, EncodedText> outputs, String caption) {
    }

    private CacheFiles() {
    }

    static String tokensName(EncoderRole role) {
        return role.name() + ".tokens";
    }

    static String pooledName(EncoderRole role) {
        return role.name() + ".pooled";
    }

    /** Writes an item file atomically. */
    static void writeItem(Path file, ItemData item, String source, BucketSize bucket) {
        SafetensorsWriter w = SafetensorsWriter.create()
                .metadata(FORMAT_KEY, ITEM_FORMAT)
                .metadata("source", source)
                .metadata("bucket", bucket.toString())
                .metadata("caption", item.caption());
        add(w, MEAN, item.mean());
        add(w, LOGVAR, item.logvar());
        addOutputs(w, item.outputs());
        w.write(file);
    }

    /** Writes the empty caption's outputs atomically. */
    static void writeEmptyCaption(Path file, Map<EncoderRole, EncodedText> outputs) {
        SafetensorsWriter w = SafetensorsWriter.create().metadata(FORMAT_KEY, EMPTY_CAPTION_FORMAT);
        addOutputs(w, outputs);
        w.write(file);
    }

    private static void addOutputs(SafetensorsWriter w, Map<EncoderRole, EncodedText> outputs) {
        for (Map.Entry<EncoderRole, EncodedText> e : outputs.entrySet()) {
            Tensor tokens = e.getValue().tokens();
            add(w, tokensName(e.getKey()), tokens.reshape(tokens.dim(1), tokens.dim(2)));
            e.getValue().pooledVector().ifPresent(p -> add(w, pooledName(e.getKey()), p.reshape(p.dim(1))));
        }
    }

    private static void add(SafetensorsWriter w, String name, Tensor t) {
        w.addAs(name, t, fitsF16(t) ? DType.F16 : DType.F32);
    }

    private static boolean fitsF16(Tensor t) {
        for (int i = 0; i < t.size(); i++) {
            if (!(Math.abs(t.get(i)) <= F16_MAX)) {
                return false;
            }
        }
        return true;
    }

    /** Reads the empty caption's outputs (batch 1). */
    static Map<EncoderRole, EncodedText> readEmptyCaption(Path file, ConditioningLayout layout) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            return readOutputs(f, layout);
        }
    }

    private static Map<EncoderRole, EncodedText> readOutputs(SafetensorsFile f, ConditioningLayout layout) {
        Map<EncoderRole, EncodedText> out = new LinkedHashMap<>();
        for (ConditioningLayout.Slot slot : layout.slots()) {
            String tokensName = tokensName(slot.role());
            if (!f.contains(tokensName)) {
                continue;
            }
            Tensor tokens = f.toFloatTensor(tokensName);
            Tensor pooled = null;
            if (slot.role().kind() == EncoderRole.Kind.CLIP) {
                Tensor p = f.toFloatTensor(pooledName(slot.role()));
                pooled = p.reshape(1, p.dim(0));
            }
            out.put(slot.role(), new EncodedText(tokens.reshape(1, tokens.dim(0), tokens.dim(1)), pooled));
        }
        return out;
    }
}
