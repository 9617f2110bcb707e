package org.sd3j.onnx.vae;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.ModelLoadException;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.DType;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.SafetensorsWriter;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;

/** The same autoencoder from other key layouts and dtypes, and clear errors for broken checkpoints. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VaeLayoutTest {
    private static final String PREFIX = "first_stage_model.";

    @TempDir
    Path dir;

    private OnnxVae reference;
    private Tensor latent;
    private Tensor image;

    @BeforeAll
    void load() {
        reference = OnnxVae.load(VaeParityTest.resource("weights.safetensors"), OnnxOptions.cpu());
        try (TensorSource d = Safetensors.open(VaeParityTest.resource("decode_8x8.safetensors"));
             TensorSource e = Safetensors.open(VaeParityTest.resource("encode_32x32.safetensors"))) {
            latent = d.toFloatTensor("latent");
            image = e.toFloatTensor("image");
        }
    }

    @AfterAll
    void close() {
        reference.close();
    }

    /** Rewrites the golden weights with names mapped by {@code rename} (null drops a tensor). */
    private Path rewrite(String file, Function<String, String> rename, DType dtype,
                         Function<String, long[]> reshape) {
        Path out = dir.resolve(file);
        try (TensorSource src = Safetensors.open(VaeParityTest.resource("weights.safetensors"))) {
            SafetensorsWriter w = SafetensorsWriter.create();
            for (String name : src.names()) {
                String to = rename.apply(name);
                if (to == null) {
                    continue;
                }
                Tensor t = src.toFloatTensor(name);
                long[] shape = reshape == null ? null : reshape.apply(name);
                if (shape != null) {
                    int[] s = new int[shape.length];
                    for (int i = 0; i < s.length; i++) {
                        s[i] = (int) shape[i];
                    }
                    t = t.reshape(s);
                }
                w.addAs(to, t, dtype);
            }
            w.write(out);
        }
        return out;
    }

    private void assertSameAsReference(OnnxVae vae, double tolerance) {
        assertThat(vae.decode(latent).maxAbsDiff(reference.decode(latent))).isLessThanOrEqualTo(tolerance);
        assertThat(vae.encode(image).mean().maxAbsDiff(reference.encode(image).mean()))
                .isLessThanOrEqualTo(tolerance);
    }

    @Test
    void loadsWithoutThePrefix() {
        Path p = rewrite("noprefix.safetensors", n -> n.substring(PREFIX.length()), DType.F32, null);
        try (OnnxVae vae = OnnxVae.load(p, OnnxOptions.cpu())) {
            assertSameAsReference(vae, 0);
        }
    }

    private static final Pattern BLOCK = Pattern.compile("(encoder\\.down|decoder\\.up)\\.(\\d+)\\.block\\.(\\d+)\\.(.*)");
    private static final Pattern SAMPLE = Pattern.compile("(encoder\\.down|decoder\\.up)\\.(\\d+)\\.(downsample|upsample)\\.(.*)");

    /** Stability name -> diffusers AutoencoderKL name (written independently of VaeWeights). */
    static String diffusers(String name) {
        String n = name.substring(PREFIX.length());
        Matcher m = BLOCK.matcher(n);
        if (m.matches()) {
            boolean enc = m.group(1).startsWith("encoder");
            int level = enc ? Integer.parseInt(m.group(2)) : 3 - Integer.parseInt(m.group(2));
            return (enc ? "encoder.down_blocks." : "decoder.up_blocks.") + level + ".resnets." + m.group(3) + "."
                    + m.group(4).replace("nin_shortcut", "conv_shortcut");
        }
        m = SAMPLE.matcher(n);
        if (m.matches()) {
            boolean enc = m.group(1).startsWith("encoder");
            int level = enc ? Integer.parseInt(m.group(2)) : 3 - Integer.parseInt(m.group(2));
            return (enc ? "encoder.down_blocks." : "decoder.up_blocks.") + level
                    + (enc ? ".downsamplers.0." : ".upsamplers.0.") + m.group(4);
        }
        return n.replace("mid.block_1.", "mid_block.resnets.0.")
                .replace("mid.block_2.", "mid_block.resnets.1.")
                .replace("mid.attn_1.norm.", "mid_block.attentions.0.group_norm.")
                .replace("mid.attn_1.q.", "mid_block.attentions.0.to_q.")
                .replace("mid.attn_1.k.", "mid_block.attentions.0.to_k.")
                .replace("mid.attn_1.v.", "mid_block.attentions.0.to_v.")
                .replace("mid.attn_1.proj_out.", "mid_block.attentions.0.to_out.0.")
                .replace("norm_out.", "conv_norm_out.");
    }

    @Test
    void loadsTheDiffusersLayout() {
        Path p = rewrite("diffusion_pytorch_model.safetensors", VaeLayoutTest::diffusers, DType.F32,
                n -> n.contains("attn_1.") && n.endsWith(".weight") && !n.contains(".norm.") ? new long[] {64, 64}
                        : null);
        try (OnnxVae vae = OnnxVae.load(p, OnnxOptions.cpu())) {
            assertThat(vae.config()).isEqualTo(reference.config());
            assertSameAsReference(vae, 0);
        }
    }

    @Test
    void readsLatentScalingFromADiffusersVaeFolder() throws java.io.IOException {
        Path folder = java.nio.file.Files.createDirectories(dir.resolve("vae"));
        java.nio.file.Files.move(rewrite("d.safetensors", VaeLayoutTest::diffusers, DType.F32,
                n -> n.contains("attn_1.") && n.endsWith(".weight") && !n.contains(".norm.") ? new long[] {64, 64}
                        : null), folder.resolve("diffusion_pytorch_model.safetensors"));
        java.nio.file.Files.writeString(folder.resolve("config.json"), "{\"_class_name\": \"AutoencoderKL\",\n"
                + "  \"latent_channels\": 16, \"scaling_factor\": 1.25, \"shift_factor\": 0.125}");
        try (OnnxVae vae = OnnxVae.load(folder, OnnxOptions.cpu())) {
            assertThat(vae.latentFormat()).isEqualTo(new org.sd3j.model.LatentFormat(16, 8, 1.25, 0.125));
            assertSameAsReference(vae, 0);
        }
    }

    @Test
    void loadsFloat16Weights() {
        Path p = rewrite("half.safetensors", n -> n, DType.F16, null);
        try (OnnxVae vae = OnnxVae.load(p, OnnxOptions.cpu())) {
            assertSameAsReference(vae, 0.05);
        }
    }

    @Test
    void loadsADecoderOnlyFile() {
        Path p = rewrite("decoder.safetensors", n -> n.contains(".encoder.") ? null : n, DType.F32, null);
        try (OnnxVae vae = OnnxVae.load(p, OnnxOptions.cpu())) {
            assertThat(vae.decode(latent).maxAbsDiff(reference.decode(latent))).isEqualTo(0.0);
            assertThatThrownBy(() -> vae.encode(image)).isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining("has no encoder weights");
        }
    }

    @Test
    void fileWithoutVaeWeightsIsAClearError() {
        Path p = rewrite("other.safetensors", n -> n.replace(PREFIX, "model.diffusion_model."), DType.F32, null);
        assertThatThrownBy(() -> OnnxVae.load(p, OnnxOptions.cpu())).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("no SD3 VAE weights found")
                .hasMessageContaining("first_stage_model.decoder.conv_in.weight");
    }

    @Test
    void quantConvolutionsAreRejected() {
        Path p = rewrite("sdxl_like.safetensors",
                n -> n.endsWith("decoder.conv_in.bias") ? PREFIX + "post_quant_conv.weight" : n, DType.F32, null);
        assertThatThrownBy(() -> OnnxVae.load(p, OnnxOptions.cpu())).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("VAE has 'first_stage_model.post_quant_conv.weight'");
    }

    @Test
    void missingTensorIsNamed() {
        Path p = rewrite("partial.safetensors",
                n -> n.endsWith("decoder.mid.attn_1.q.bias") ? null : n, DType.F32, null);
        assertThatThrownBy(() -> OnnxVae.load(p, OnnxOptions.cpu())).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("missing tensor 'first_stage_model.decoder.mid.attn_1.q.bias'");
    }

    @Test
    void wrongShapeIsNamed() {
        Path p = rewrite("badshape.safetensors", n -> n, DType.F32,
                n -> n.endsWith("decoder.mid.attn_1.norm.weight") ? new long[] {8, 8} : null);
        assertThatThrownBy(() -> OnnxVae.load(p, OnnxOptions.cpu())).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("tensor 'first_stage_model.decoder.mid.attn_1.norm.weight' has shape [8, 8],"
                        + " expected [64]");
    }
}
