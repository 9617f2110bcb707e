package org.sd3j.onnx.mmdit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.sd3j.ModelLoadException;
import org.sd3j.conditioning.Conditioning;
import org.sd3j.internal.Closeables;
import org.sd3j.model.BindingDenoiser;
import org.sd3j.lora.LoraRequest;
import org.sd3j.model.BoundDenoiser;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.lora.LoraComponent;
import org.sd3j.onnx.lora.MergedLora;
import org.sd3j.onnx.lora.OnnxModelWeights;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.tensor.Tensor;

/**
 * An SD3 transformer from an existing {@code model.onnx} (an optimum export, or what {@code sd3 convert} writes).
 * Inputs and output are mapped to their roles by name, with the names other exporters use as fallbacks, then by
 * rank (4: latents, 1: timestep, 3: context, 2: pooled); float16 and int64 inputs are converted. LoRAs can be merged
 * into its weights at load where their names map to the export's initializers ({@link OnnxModelWeights}); they cannot
 * be switched per generation (the export has no adapter inputs: load the checkpoint with {@link MmditDenoiser}).
 *
 * <p>Owns its session; {@link #close()} releases it (idempotent). Thread-safe.
 */
public final class OnnxDenoiser implements BindingDenoiser, AutoCloseable {
    private static final List<List<String>> INPUT_NAMES = List.of(
            List.of(MmditGraph.LATENTS, "sample", "x", "latent_model_input"),
            List.of(MmditGraph.TIMESTEP, "timesteps", "t"),
            List.of(MmditGraph.CONTEXT, "context", "prompt_embeds"),
            List.of(MmditGraph.POOLED, "y", "pooled_prompt_embeds", "pooled"));
    private static final int[] ROLE_RANKS = {4, 1, 3, 2};
    private static final String EXPECTED_INPUTS = "[hidden_states [B, 16, h, w], timestep [B], "
            + "encoder_hidden_states [B, S, D], pooled_projections [B, P]]";
    private static final String EXPECTED_OUTPUT = "out_hidden_states [B, 16, h, w]";
    private static final List<String> OUTPUT_NAMES = List.of(MmditGraph.OUTPUT, "out_sample", "output", "sample");

    private final String name;
    private final GraphSession session;
    private final String[] inputs;
    private final String output;
    private final List<MergedLora> merged;

    private OnnxDenoiser(String name, GraphSession session, String[] inputs, String output, List<MergedLora> merged) {
        this.merged = merged;
        this.name = name;
        this.session = session;
        this.inputs = inputs;
        this.output = output;
    }

    /** Opens {@code transformer/model.onnx} (or any file holding the SD3 transformer graph). */
    public static OnnxDenoiser load(Path modelFile, OnnxOptions config) {
        return load(modelFile, config, List.of());
    }

    /**
     * Opens the export with {@code loras} merged into the initializers their adapters map to (weight-0 LoRAs
     * skipped); the adapters whose weights cannot be found are logged and listed in {@link #mergedLoras()}.
     *
     * @throws ModelLoadException as {@link #load(Path, OnnxOptions)}, and for a LoRA file that cannot be read, has
     *                            keys of no known layout or does not fit the weights it maps to
     */
    public static OnnxDenoiser load(Path modelFile, OnnxOptions config, List<LoraRequest> loras) {
        if (!Files.isRegularFile(modelFile)) {
            throw new ModelLoadException(modelFile, "no such ONNX model file");
        }
        OnnxModelWeights.Merge merge = OnnxModelWeights.merge(modelFile, LoraComponent.MMDIT, loras);
        GraphSession session = GraphSession.load(modelFile, config, merge.initializers());
        try {
            Map<String, long[]> declared = session.inputShapes();
            String[] roles = new String[4];
            List<String> unassigned = new ArrayList<>(declared.keySet());
            for (int r = 0; r < 4; r++) {
                for (String candidate : INPUT_NAMES.get(r)) {
                    if (unassigned.remove(candidate)) {
                        roles[r] = candidate;
                        break;
                    }
                }
            }
            for (int r = 0; r < 4; r++) {
                if (roles[r] == null) {
                    for (String n : unassigned) {
                        if (declared.get(n).length == ROLE_RANKS[r]) {
                            roles[r] = n;
                            unassigned.remove(n);
                            break;
                        }
                    }
                }
                if (roles[r] == null) {
                    throw new ModelLoadException(modelFile, "not an SD3 transformer: expected inputs "
                            + EXPECTED_INPUTS + " and output " + EXPECTED_OUTPUT + " (or the names other exporters "
                            + "use), found no input for " + INPUT_NAMES.get(r).get(0) + " (rank " + ROLE_RANKS[r]
                            + "); the model has " + session.describeSignature());
                }
                long[] shape = declared.get(roles[r]);
                if (shape.length != ROLE_RANKS[r]) {
                    throw new ModelLoadException(modelFile, "not an SD3 transformer: expected inputs "
                            + EXPECTED_INPUTS + " and output " + EXPECTED_OUTPUT + ", found " + roles[r] + " of rank "
                            + shape.length + "; the model has " + session.describeSignature());
                }
            }
            List<String> outs = session.outputNames();
            String out = OUTPUT_NAMES.stream().filter(outs::contains).findFirst()
                    .orElse(outs.size() == 1 ? outs.get(0) : null);
            if (out == null) {
                throw new ModelLoadException(modelFile, "not an SD3 transformer: expected the output "
                        + EXPECTED_OUTPUT + " (or one of " + OUTPUT_NAMES + ", or a single output); the model has "
                        + session.describeSignature());
            }
            long[] outShape = session.outputShapes().get(out);
            if (outShape != null && outShape.length != 4) {
                throw new ModelLoadException(modelFile, "not an SD3 transformer: expected the output "
                        + EXPECTED_OUTPUT + ", found " + out + " of rank " + outShape.length + "; the model has "
                        + session.describeSignature());
            }
            return new OnnxDenoiser(modelFile.toString(), session, roles, out, merge.merged());
        } catch (RuntimeException e) {
            throw Closeables.closeAfterFailure(e, session);
        }
    }

    @Override
    public Tensor velocity(Tensor latents, Tensor timesteps, Conditioning conditioning) {
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put(inputs[0], latents);
        in.put(inputs[1], timesteps);
        in.put(inputs[2], conditioning.context());
        in.put(inputs[3], conditioning.pooled());
        return session.run(in).get(output);
    }

    /** Binds a generation's conditioning (see {@link MmditDenoiser#bind}); this export cannot skip blocks. */
    @Override
    public BoundDenoiser bind(Conditioning conditioning, java.util.Set<Integer> skippedBlocks) {
        if (!skippedBlocks.isEmpty()) {
            throw new IllegalArgumentException("skippedBlocks must be empty for an ONNX export (it cannot skip "
                    + "blocks; load the checkpoint with MmditDenoiser for skip-layer guidance), found " + skippedBlocks);
        }
        return MmditBinding.bind(session, inputs, output, conditioning, (latents, timesteps) -> { });
    }

    /** What merging the LoRAs given to {@link #load(Path, OnnxOptions, List)} did, unmapped adapters included. */
    public List<MergedLora> mergedLoras() {
        return merged;
    }

    /** The declared width of the text context input ({@code encoder_hidden_states}), or -1 when symbolic. */
    public int contextDim() {
        return lastDim(inputs[2]);
    }

    /** The declared width of the pooled input ({@code pooled_projections}), or -1 when symbolic. */
    public int pooledDim() {
        return lastDim(inputs[3]);
    }

    private int lastDim(String input) {
        long[] shape = session.inputShapes().get(input);
        return shape == null || shape.length == 0 || shape[shape.length - 1] <= 0 ? -1
                : Math.toIntExact(shape[shape.length - 1]);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void close() {
        session.close();
    }

    @Override
    public String toString() {
        return "OnnxDenoiser[" + name + "]";
    }
}
