package org.sd3j.examples.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import org.sd3j.Sd3Exception;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.LoraTrainer;
import org.sd3j.train.LoraTrainingSettings;
import org.sd3j.train.lora.LoraAdapter;
import org.sd3j.train.lora.LoraFiles;
import org.sd3j.train.lora.LoraLayout;
import org.sd3j.train.lora.LoraWeights;

/**
 * The LoRA file {@code sd3 train} writes at the end: the trained adapters (their EMA with {@code --ema}) in the
 * chosen layout, atomically ({@link LoraFiles#write}), with provenance in {@code __metadata__} so that the file
 * says where it came from:
 * <pre>
 * sd3j.version     the sd3j version that trained it
 * sd3j.base_model  the checkpoint's file name
 * sd3j.dataset     the dataset folder
 * sd3j.resolution  bucket side and step, e.g. "512 (step 64)"
 * sd3j.steps       steps trained
 * sd3j.seed        the run's seed
 * sd3j.weights     "trained" or "ema"
 * sd3j.settings    LoraTrainingSettings.toJson()
 * </pre>
 */
final class LoraOutput {
    static final Map<String, LoraLayout> LAYOUTS = TrainingOptions.ordered(
            "diffusers", LoraLayout.DIFFUSERS, "kohya", LoraLayout.KOHYA);

    private LoraOutput() {
    }

    /** The adapters to write: the EMA's weights when the run keeps one (it is why one keeps it), else the live ones. */
    static LoraWeights weights(LoraTrainer trainer) {
        return weights(trainer.lora(), trainer.emaWeights());
    }

    /** The EMA's adapters when there is one, else {@code live}. */
    static LoraWeights weights(LoraWeights live, java.util.Optional<Map<String, Tensor>> emaWeights) {
        return emaWeights.map(ema -> {
            Map<String, LoraAdapter> adapters = new LinkedHashMap<>();
            for (Map.Entry<String, LoraAdapter> e : live.adapters().entrySet()) {
                Tensor a = ema.get(LoraWeights.aName(e.getKey()));
                Tensor b = ema.get(LoraWeights.bName(e.getKey()));
                adapters.put(e.getKey(), new LoraAdapter(a, b, e.getValue().alpha()));
            }
            return LoraWeights.of(adapters);
        }).orElse(live);
    }

    /** The {@code __metadata__} entries describing a run. */
    static Map<String, String> provenance(Path model, Path dataset, int resolution, int bucketStep, long steps,
                                          LoraTrainingSettings settings) {
        return provenance(model, dataset, resolution, bucketStep, steps, settings, settings.toJson());
    }

    /** @param settingsJson the whole run's settings (a DPO run's include its beta) */
    static Map<String, String> provenance(Path model, Path dataset, int resolution, int bucketStep, long steps,
                                          LoraTrainingSettings settings, String settingsJson) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("sd3j.version", VersionProvider.projectVersion());
        Path name = model.toAbsolutePath().normalize().getFileName();
        m.put("sd3j.base_model", name == null ? model.toString() : name.toString());
        m.put("sd3j.dataset", dataset.toAbsolutePath().normalize().toString());
        m.put("sd3j.resolution", String.format(Locale.ROOT, "%d (step %d)", resolution, bucketStep));
        m.put("sd3j.steps", Long.toString(steps));
        m.put("sd3j.seed", Long.toString(settings.seed()));
        m.put("sd3j.weights", settings.emaDecay() > 0 ? "ema" : "trained");
        m.put("sd3j.settings", settingsJson);
        return m;
    }

    /** Writes {@code weights} to {@code file} (its folder created if missing). */
    static void write(Path file, LoraWeights weights, LoraLayout layout, Map<String, String> provenance) {
        Path parent = file.toAbsolutePath().getParent();
        try {
            Files.createDirectories(parent);
        } catch (IOException e) {
            throw new Sd3Exception("Cannot create " + parent + ": " + e.getMessage(), e);
        }
        LoraFiles.write(file, weights, layout, provenance);
    }
}
