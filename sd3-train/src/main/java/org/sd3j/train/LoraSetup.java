package org.sd3j.train;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.mmdit.MmditConfig;
import org.sd3j.onnx.mmdit.MmditWeights;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.train.lora.LinearLayers;
import org.sd3j.train.lora.LoraWeights;
import org.sd3j.train.step.LoraGraphAdapter;

/**
 * What every LoRA trainer ({@link LoraTrainer}, {@link DpoTrainer}) sets up from a checkpoint: the MMDiT's weights
 * and geometry, the selected Linears' initialized adapters, and the graph adapter that feeds them. The graph names
 * adapters by checkpoint key (prefixed), the adapters and files by module name; {@link #parameterOf} maps one to the
 * other.
 */
record LoraSetup(MmditWeights weights, MmditConfig config, LoraWeights lora, LoraGraphAdapter adapter,
                 Map<String, String> moduleOf) {

    static LoraSetup of(TensorSource source, Path checkpoint, LoraTrainingSettings settings) {
        MmditWeights weights = LoraTrainer.trainableWeights(source, checkpoint);
        MmditConfig cfg = MmditConfig.infer(weights);
        Map<String, long[]> shapes = LinearLayers.of(weights);
        List<String> keys = settings.targets().select(shapes);
        LoraWeights lora = LoraWeights.initialize(keys, shapes, settings.lora());
        Map<String, String> moduleOf = new HashMap<>();
        for (String k : keys) {
            moduleOf.put(weights.keyOf(k + ".weight"), k);
        }
        LoraGraphAdapter adapter = new LoraGraphAdapter(moduleOf::containsKey, settings.lora().rank(),
                settings.lora().alpha(), ElementType.FLOAT, k -> source.info(k + ".weight").shape());
        return new LoraSetup(weights, cfg, lora, adapter, Map.copyOf(moduleOf));
    }

    /** Step-graph input name -> LoRA parameter name, for the step's trainable inputs. */
    Map<String, String> parameterOf(List<String> trainableInputs) {
        Map<String, String> parameterOf = new LinkedHashMap<>();
        for (String input : trainableInputs) {
            boolean a = input.endsWith(LoraGraphAdapter.A);
            String key = input.substring(0, input.length() - (a ? LoraGraphAdapter.A.length()
                    : LoraGraphAdapter.B.length()));
            String module = moduleOf.get(key);
            parameterOf.put(input, a ? LoraWeights.aName(module) : LoraWeights.bName(module));
        }
        return parameterOf;
    }
}
