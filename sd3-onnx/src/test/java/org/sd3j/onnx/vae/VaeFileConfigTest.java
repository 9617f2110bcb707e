package org.sd3j.onnx.vae;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.ModelLoadException;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.SafetensorsWriter;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;

/** Latent scaling, shift and GroupNorm groups as a checkpoint declares them, on the golden tiny autoencoder. */
class VaeFileConfigTest {
    @TempDir
    Path dir;

    /** The golden weights (32, 64, 64, 64 channels) in {@code folder}, with {@code metadata}. */
    private Path golden(Path folder, Map<String, String> metadata) throws IOException {
        Files.createDirectories(folder);
        Path out = folder.resolve("vae.safetensors");
        SafetensorsWriter w = SafetensorsWriter.create();
        try (TensorSource s = Safetensors.open(VaeParityTest.resource("weights.safetensors"))) {
            for (String n : s.names()) {
                w.add(n, s.toFloatTensor(n));
            }
        }
        metadata.forEach(w::metadata);
        w.write(out);
        return out;
    }

    private static VaeConfig read(Path file) {
        try (TensorSource s = Safetensors.open(file)) {
            return VaeFileConfig.read(VaeWeights.of(s, file), file, s.metadata());
        }
    }

    @Test
    void withoutDeclarationsTheyAreSd3s() throws IOException {
        VaeConfig c = read(golden(dir.resolve("plain"), Map.of()));
        assertThat(c.scalingFactor()).isEqualTo(1.5305);
        assertThat(c.shiftFactor()).isEqualTo(0.0609);
        assertThat(c.normGroups()).isEqualTo(32);
    }

    @Test
    void theFilesMetadataDeclaresThemAndOnnxVaeUsesThem() throws IOException {
        Path file = golden(dir.resolve("meta"), Map.of("scaling_factor", "0.75", "shift_factor", "-0.5",
                "norm_num_groups", "16"));
        VaeConfig c = read(file);
        assertThat(c.scalingFactor()).isEqualTo(0.75);
        assertThat(c.shiftFactor()).isEqualTo(-0.5);
        assertThat(c.normGroups()).isEqualTo(16);
        try (OnnxVae vae = OnnxVae.load(file, OnnxOptions.cpu());
             OnnxVae sd3 = OnnxVae.load(golden(dir.resolve("plain"), Map.of()), OnnxOptions.cpu())) {
            assertThat(vae.config()).isEqualTo(c);
            // Other groups, other normalization: the same weights decode differently.
            Tensor latent = Tensor.full(0.3f, 1, 16, 2, 2);
            assertThat(vae.decode(latent).maxAbsDiff(sd3.decode(latent))).isGreaterThan(1e-3);
        }
    }

    @Test
    void aDiffusersConfigBesideTheFileWinsKeyByKey() throws IOException {
        Path file = golden(dir.resolve("both"), Map.of("scaling_factor", "0.75", "norm_num_groups", "16"));
        Files.writeString(file.resolveSibling("config.json"), "{\"_class_name\": \"AutoencoderKL\","
                + " \"scaling_factor\": null, \"norm_num_groups\": 8}");
        VaeConfig c = read(file);
        assertThat(c.scalingFactor()).isEqualTo(1.0);
        assertThat(c.shiftFactor()).isEqualTo(0.0609);
        assertThat(c.normGroups()).isEqualTo(8);
    }

    @Test
    void aValueThatIsNotANumberNamesItsKey() throws IOException {
        Path file = golden(dir.resolve("bad"), Map.of("norm_num_groups", "eight"));
        assertThatThrownBy(() -> read(file)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("norm_num_groups must be a number, found 'eight'");
        Path half = golden(dir.resolve("half"), Map.of("norm_num_groups", "2.5"));
        assertThatThrownBy(() -> read(half)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("norm_num_groups must be a positive integer, found 2.5");
    }

    @Test
    void groupsThatDoNotDivideTheChannelsAreRefusedWhenTheGraphIsBuilt() throws IOException {
        Path file = golden(dir.resolve("odd"), Map.of("norm_num_groups", "24"));
        assertThatThrownBy(() -> OnnxVae.load(file, OnnxOptions.cpu())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("channels must be a multiple of 24 for GroupNorm, found 32");
    }
}
