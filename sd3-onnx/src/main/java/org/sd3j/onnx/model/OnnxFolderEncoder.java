package org.sd3j.onnx.model;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

import org.sd3j.ModelLoadException;
import org.sd3j.conditioning.ConditioningLayout;
import org.sd3j.lora.LoraRequest;
import org.sd3j.model.EncodedText;
import org.sd3j.model.EncoderRole;
import org.sd3j.model.TextEncoder;
import org.sd3j.onnx.clip.OnnxClipEncoder.PooledConvention;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.lora.LoraComponent;
import org.sd3j.onnx.lora.MergedLora;
import org.sd3j.onnx.lora.OnnxModelWeights;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.tensor.Tensor;

/**
 * A text encoder from an exported {@code text_encoder*\/model.onnx} (optimum names, SPEC §6): CLIP roles take the
 * penultimate {@code hidden_states.*} output and a pooled vector (projected {@code text_embeds}, or the unprojected
 * {@code last_hidden_state} at {@code argmax(input_ids)} as Stability's reference does for CLIP-L); the T5 role takes
 * {@code last_hidden_state}. Owns its session. Thread-safe.
 */
final class OnnxFolderEncoder implements TextEncoder, AutoCloseable {
    private static final String INPUT_IDS = "input_ids";
    private static final String LAST = "last_hidden_state";
    private static final String TEXT_EMBEDS = "text_embeds";

    private final EncoderRole role;
    private final Path modelFile;
    private final GraphSession session;
    private final Function<String, long[]> tokenizer;
    private final String idsInput;
    private final String penultimate;
    private final boolean projected;
    private final int[] dims;
    /** Only what encode needs: a CLIP export computes every hidden state otherwise. */
    private final java.util.Set<String> outputs;
    private final List<MergedLora> merged;

    private OnnxFolderEncoder(EncoderRole role, Path modelFile, GraphSession session, Function<String, long[]> tokenizer,
                              String idsInput, String penultimate, boolean projected, List<MergedLora> merged) {
        this.merged = merged;
        this.idsInput = idsInput;
        this.role = role;
        Map<String, long[]> shapes = session.outputShapes();
        ConditioningLayout.Slot sd3 = ConditioningLayout.sd3().slot(role).orElseThrow();
        int features = lastDim(shapes.get(LAST), sd3.features());
        int pooled = role.kind() != EncoderRole.Kind.CLIP ? 0
                : projected ? lastDim(shapes.get(TEXT_EMBEDS), sd3.pooled()) : features;
        this.dims = new int[] {features, pooled};
        this.modelFile = modelFile;
        this.session = session;
        this.tokenizer = tokenizer;
        this.penultimate = penultimate;
        this.projected = projected;
        java.util.Set<String> wanted = new java.util.LinkedHashSet<>();
        wanted.add(LAST);
        if (penultimate != null) {
            wanted.add(penultimate);
        }
        if (projected) {
            wanted.add(TEXT_EMBEDS);
        }
        this.outputs = java.util.Collections.unmodifiableSet(wanted);
    }

    private static int lastDim(long[] shape, int fallback) {
        return shape == null || shape.length == 0 || shape[shape.length - 1] <= 0 ? fallback
                : Math.toIntExact(shape[shape.length - 1]);
    }

    /** What merging LoRAs at load did. */
    List<MergedLora> mergedLoras() {
        return merged;
    }

    /** {features, pooled} from the export's declared output widths (SD3's where the export leaves them open). */
    int[] dims() {
        return dims.clone();
    }

    static OnnxFolderEncoder load(Path modelFile, EncoderRole role, OnnxOptions config, PooledConvention pooled,
                                  Function<String, long[]> tokenizer) {
        return load(modelFile, role, config, pooled, tokenizer, List.of());
    }

    /** Loads with the CLIP adapters of {@code loras} merged into the initializers they map to (T5: none). */
    static OnnxFolderEncoder load(Path modelFile, EncoderRole role, OnnxOptions config, PooledConvention pooled,
                                  Function<String, long[]> tokenizer, List<LoraRequest> loras) {
        OnnxModelWeights.Merge merge = role.kind() == EncoderRole.Kind.CLIP
                ? OnnxModelWeights.merge(modelFile, LoraComponent.of(role), loras)
                : new OnnxModelWeights.Merge(Map.of(), List.of());
        GraphSession session = GraphSession.load(modelFile, config, merge.initializers());
        try {
            String ids = idsInput(session);
            if (ids == null) {
                throw new ModelLoadException(modelFile, "not a " + role.name() + " text encoder: expected the input '"
                        + INPUT_IDS + "' (int64 or int32 [B, S]); the model has " + session.describeSignature());
            }
            List<String> outs = session.outputNames();
            if (!outs.contains(LAST)) {
                throw new ModelLoadException(modelFile, "not a " + role.name() + " text encoder: expected the output '"
                        + LAST + "'; the model has " + session.describeSignature());
            }
            String penultimate = null;
            boolean projected = false;
            if (role.kind() == EncoderRole.Kind.CLIP) {
                int layers = -1;
                while (outs.contains("hidden_states." + (layers + 1))) {
                    layers++;
                }
                if (layers < 2) {
                    throw new ModelLoadException(modelFile, "a CLIP encoder export needs the outputs 'hidden_states.0'"
                            + " .. 'hidden_states.L' (export with output_hidden_states); the model has "
                            + session.describeSignature());
                }
                penultimate = "hidden_states." + (layers - 1);
                projected = pooled == PooledConvention.PROJECTED
                        || pooled == PooledConvention.REFERENCE && !EncoderRole.CLIP_L.equals(role);
                if (projected && !outs.contains(TEXT_EMBEDS)) {
                    throw new ModelLoadException(modelFile, "the projected pooled vector needs the output '"
                            + TEXT_EMBEDS + "'; the model has " + session.describeSignature());
                }
            }
            return new OnnxFolderEncoder(role, modelFile, session, tokenizer, ids, penultimate, projected,
                    merge.merged());
        } catch (RuntimeException e) {
            try {
                session.close();
            } catch (RuntimeException secondary) {
                e.addSuppressed(secondary);
            }
            throw e;
        }
    }

    /** {@code input_ids}, else the only integer input of rank 2 (exporters that name it otherwise). */
    private static String idsInput(GraphSession session) {
        Map<String, String> types = session.inputTypes();
        if (types.containsKey(INPUT_IDS)) {
            return INPUT_IDS;
        }
        List<String> candidates = new ArrayList<>();
        types.forEach((name, type) -> {
            long[] shape = session.inputShapes().get(name);
            if ((type.equals("INT64") || type.equals("INT32")) && shape != null && shape.length == 2) {
                candidates.add(name);
            }
        });
        return candidates.size() == 1 ? candidates.get(0) : null;
    }

    @Override
    public EncoderRole role() {
        return role;
    }

    @Override
    public EncodedText encode(List<String> prompts) {
        Objects.requireNonNull(prompts, "prompts");
        if (tokenizer == null) {
            throw new IllegalStateException("text encoder " + role + " (" + modelFile + ") has no tokenizer: give one"
                    + " with Sd3Model.Options.withTokenizer(role, ...) or call encodeIds with token ids");
        }
        List<long[]> ids = new ArrayList<>();
        for (String p : prompts) {
            ids.add(tokenizer.apply(Objects.requireNonNull(p, "prompt")));
        }
        return encodeIds(ids.toArray(long[][]::new));
    }

    /** Encodes token ids {@code [B][S]} (equal lengths). */
    EncodedText encodeIds(long[][] ids) {
        if (ids.length == 0) {
            throw new IllegalArgumentException("ids must hold at least one sequence, found none");
        }
        int s = ids[0].length;
        float[] flat = new float[ids.length * s];
        for (int b = 0; b < ids.length; b++) {
            if (ids[b].length != s) {
                throw new IllegalArgumentException("token sequences must all have length " + s + ", found "
                        + ids[b].length + " at index " + b);
            }
            for (int i = 0; i < s; i++) {
                flat[b * s + i] = ids[b][i];
            }
        }
        Map<String, Tensor> out = session.run(Map.of(idsInput, Tensor.of(flat, ids.length, s)), outputs);
        if (role.kind() != EncoderRole.Kind.CLIP) {
            return EncodedText.of(out.get(LAST));
        }
        Tensor pooled = projected ? out.get(TEXT_EMBEDS) : atArgmax(out.get(LAST), ids);
        return new EncodedText(out.get(penultimate), pooled);
    }

    /** {@code hidden[b, argmax(ids[b]), :]}: the first end token (it has the largest id). */
    private static Tensor atArgmax(Tensor hidden, long[][] ids) {
        int b = hidden.dim(0);
        int s = hidden.dim(1);
        int d = hidden.dim(2);
        float[] out = new float[b * d];
        for (int i = 0; i < b; i++) {
            int arg = 0;
            for (int j = 1; j < s; j++) {
                if (ids[i][j] > ids[i][arg]) {
                    arg = j;
                }
            }
            for (int k = 0; k < d; k++) {
                out[i * d + k] = hidden.get((i * s + arg) * d + k);
            }
        }
        return Tensor.of(out, b, d);
    }

    @Override
    public void close() {
        session.close();
    }

    @Override
    public String toString() {
        return "OnnxFolderEncoder[" + role + ", " + modelFile + "]";
    }
}
