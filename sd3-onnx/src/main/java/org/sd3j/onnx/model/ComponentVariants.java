package org.sd3j.onnx.model;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.sd3j.model.EncoderRole;
import org.sd3j.onnx.clip.ClipWeights;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.mmdit.MmditConfig;
import org.sd3j.onnx.mmdit.MmditWeights;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.onnx.t5.T5Config;
import org.sd3j.onnx.t5.T5Weights;
import org.sd3j.onnx.vae.VaeConfig;
import org.sd3j.onnx.vae.VaeWeights;

/**
 * A component's architecture as {@link ModelInspector} reports it: from safetensors shapes through the same
 * inference the loaders use ({@link MmditConfig#infer}, {@link T5Config#infer}, {@link VaeConfig#infer}), or from an
 * ONNX file's declarations (initializer names and shapes, graph inputs and outputs), which tell less.
 */
final class ComponentVariants {
    private static final Pattern BLOCK = Pattern.compile("(?:^|\\.)(?:joint_blocks|transformer_blocks)\\.(\\d+)\\.");
    private static final Pattern T5_BLOCK = Pattern.compile("(?:^|\\.)block\\.(\\d+)\\.");

    /** A one-line summary and display properties. */
    record Variant(String summary, Map<String, String> details) {
    }

    private ComponentVariants() {
    }

    static Variant mmdit(TensorSource source, Path origin) {
        MmditWeights w = MmditWeights.of(source, origin, ElementType.FLOAT);
        MmditConfig c = MmditConfig.infer(w);
        Map<String, String> d = new LinkedHashMap<>();
        d.put("depth", Integer.toString(c.depth()));
        d.put("hidden size", Integer.toString(c.hiddenSize()));
        d.put("heads", Integer.toString(c.heads()));
        d.put("QK-norm", c.qkNorm() ? "yes" : "no");
        d.put("MMDiT-X layers", layers(c.selfAttentionLayers()));
        d.put("position grid", c.posEmbedMaxSize() + "x" + c.posEmbedMaxSize());
        d.put("patch size", Integer.toString(c.patchSize()));
        d.put("latent channels", Integer.toString(c.inChannels()));
        d.put("context width", Integer.toString(c.contextDim()));
        d.put("pooled width", Integer.toString(c.pooledDim()));
        d.put("layout", w.describeLayout());
        return new Variant(c.variant(), d);
    }

    /**
     * CLIP's width, layer count and vocabulary (the head count is not stored in the weights: the loaders assume
     * width / 64).
     */
    static Variant clip(TensorSource source, Path origin, EncoderRole role) {
        ClipWeights w = ClipWeights.of(source, origin, role);
        long[] tok = w.shape(ClipWeights.TOKEN_EMBEDDING);
        long[] pos = w.shape(ClipWeights.POSITION_EMBEDDING);
        Map<String, String> d = new LinkedHashMap<>();
        d.put("width", Long.toString(tok[tok.length - 1]));
        d.put("layers", Integer.toString(w.layerCount()));
        d.put("vocabulary", Long.toString(tok[0]));
        d.put("positions", Long.toString(pos[0]));
        d.put("text projection", w.has(ClipWeights.PROJECTION) ? "yes" : "no");
        return new Variant("CLIP width " + tok[tok.length - 1] + ", " + w.layerCount() + " layers", d);
    }

    static Variant t5(TensorSource source, Path origin) {
        T5Config c = T5Config.infer(T5Weights.of(source, origin));
        Map<String, String> d = new LinkedHashMap<>();
        d.put("d_model", Integer.toString(c.dModel()));
        d.put("layers", Integer.toString(c.layers()));
        d.put("heads", Integer.toString(c.heads()));
        d.put("d_ff", Integer.toString(c.dFf()));
        d.put("vocabulary", Integer.toString(c.vocabSize()));
        return new Variant("T5 d_model " + c.dModel() + ", " + c.layers() + " layers", d);
    }

    static Variant vae(TensorSource source, Path origin) {
        VaeConfig c = VaeConfig.infer(VaeWeights.of(source, origin));
        Map<String, String> d = new LinkedHashMap<>();
        d.put("latent channels", Integer.toString(c.zChannels()));
        d.put("levels", Integer.toString(c.levels()));
        d.put("channels", java.util.Arrays.toString(c.levelChannels()));
        d.put("ResNet blocks per level", Integer.toString(c.resBlocks()));
        d.put("downscale", c.downscale() + "x");
        return new Variant(c.zChannels() + " latent channels, " + c.levels() + " levels", d);
    }

    /**
     * An ONNX transformer: the block structure from the initializer names (sd3j's converter keeps the checkpoint's
     * names; exporters that rename weights leave less to see), the widths from the declared inputs.
     */
    static Variant onnxTransformer(OnnxFileHeader h) {
        Set<Integer> blocks = new TreeSet<>();
        Set<Integer> mmditX = new TreeSet<>();
        boolean qkNorm = false;
        long hidden = -1;
        long grid = -1;
        for (OnnxFileHeader.Initializer i : h.initializers()) {
            Matcher m = BLOCK.matcher(i.name());
            if (m.find()) {
                int block = Integer.parseInt(m.group(1));
                blocks.add(block);
                if (i.name().contains(".attn2.")) {
                    mmditX.add(block);
                }
            }
            if (i.name().contains(".ln_k.") || i.name().contains(".norm_k.")) {
                qkNorm = true;
            }
            long[] dims = i.dims();
            if (i.name().endsWith("pos_embed") && dims.length == 3) {
                long side = Math.round(Math.sqrt(dims[1]));
                if (side * side == dims[1]) {
                    grid = side;
                    hidden = dims[2];
                }
            }
        }
        Map<String, String> d = new LinkedHashMap<>();
        if (blocks.isEmpty()) {
            declaredWidths(h, d);
            return new Variant("unrecognized", d);
        }
        int depth = blocks.size();
        d.put("depth", Integer.toString(depth));
        if (hidden > 0) {
            d.put("hidden size", Long.toString(hidden));
            d.put("heads", Long.toString(hidden / 64));
        }
        d.put("QK-norm", qkNorm ? "yes" : "no");
        d.put("MMDiT-X layers", layers(mmditX));
        if (grid > 0) {
            d.put("position grid", grid + "x" + grid);
        }
        declaredWidths(h, d);
        String kind = !mmditX.isEmpty() ? "MMDiT-X" : qkNorm ? "SD3.5 (QK-norm)" : "SD3";
        return new Variant(kind + " depth " + depth, d);
    }

    private static void declaredWidths(OnnxFileHeader h, Map<String, String> d) {
        lastDim(h.inputs(), "encoder_hidden_states").ifPresent(w -> d.put("context width", w));
        lastDim(h.inputs(), "pooled_projections").ifPresent(w -> d.put("pooled width", w));
    }

    /** An ONNX text encoder: widths from the declared outputs, layers from its {@code hidden_states.N} outputs. */
    static Variant onnxEncoder(OnnxFileHeader h, boolean clip) {
        Map<String, String> d = new LinkedHashMap<>();
        Optional<String> width = lastDim(h.outputs(), "last_hidden_state");
        width.ifPresent(w -> d.put(clip ? "width" : "d_model", w));
        long hiddenStates = h.outputs().stream().filter(o -> o.name().startsWith("hidden_states.")).count();
        if (hiddenStates > 1) {
            d.put("layers", Long.toString(hiddenStates - 1));
        }
        lastDim(h.outputs(), "text_embeds").ifPresent(w -> d.put("pooled width", w));
        if (!clip) {
            Set<Integer> blocks = new TreeSet<>();
            for (OnnxFileHeader.Initializer i : h.initializers()) {
                Matcher m = T5_BLOCK.matcher(i.name());
                if (m.find()) {
                    blocks.add(Integer.parseInt(m.group(1)));
                }
            }
            if (!blocks.isEmpty()) {
                d.put("layers", Integer.toString(blocks.size()));
            }
        }
        h.initializers().stream()
                .filter(i -> i.dims().length == 2 && (i.name().endsWith("token_embedding.weight")
                        || i.name().endsWith("embed_tokens.weight") || i.name().equals("shared.weight")))
                .findFirst().ifPresent(i -> d.put("vocabulary", Long.toString(i.dims()[0])));
        String summary = (clip ? "CLIP width " : "T5 d_model ") + width.orElse("?")
                + (d.containsKey("layers") ? ", " + d.get("layers") + " layers" : "");
        return new Variant(summary, d);
    }

    /** An ONNX VAE half: latent channels from the decoder's input or the encoder's moments output. */
    static Variant onnxVae(OnnxFileHeader h, boolean encoder) {
        Map<String, String> d = new LinkedHashMap<>();
        List<ModelDescription.GraphValue> side = encoder ? h.outputs() : h.inputs();
        String channels = "?";
        if (side.size() == 1 && side.get(0).shape().size() == 4) {
            String c = side.get(0).shape().get(1);
            channels = encoder && c.chars().allMatch(Character::isDigit) ? Long.toString(Long.parseLong(c) / 2) : c;
            d.put("latent channels", channels);
        }
        return new Variant(channels + " latent channels", d);
    }

    private static Optional<String> lastDim(List<ModelDescription.GraphValue> values, String name) {
        return values.stream().filter(v -> v.name().equals(name) && !v.shape().isEmpty())
                .map(v -> v.shape().get(v.shape().size() - 1)).findFirst();
    }

    /** {@code none}, or the indices as ranges: {@code 0-12}, {@code 0-3, 7}. */
    static String layers(Set<Integer> indices) {
        if (indices.isEmpty()) {
            return "none";
        }
        StringBuilder sb = new StringBuilder();
        Integer start = null;
        Integer prev = null;
        for (int i : new TreeSet<>(indices)) {
            if (prev != null && i == prev + 1) {
                prev = i;
                continue;
            }
            appendRange(sb, start, prev);
            start = i;
            prev = i;
        }
        appendRange(sb, start, prev);
        return sb.toString();
    }

    private static void appendRange(StringBuilder sb, Integer start, Integer end) {
        if (start == null) {
            return;
        }
        if (sb.length() > 0) {
            sb.append(", ");
        }
        sb.append(start.equals(end) ? Integer.toString(start) : start + "-" + end);
    }
}
