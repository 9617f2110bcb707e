package org.sd3j.onnx.vae;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URISyntaxException;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.sd3j.model.LatentDistribution;
import org.sd3j.model.LatentFormat;
import org.sd3j.onnx.graph.Dim;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.GraphBuilder;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.graph.Value;
import org.sd3j.onnx.mmdit.MmditGraph;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Parity with Stability's reference SD3 VAE ({@code sd3_impls.VAEEncoder} / {@code VAEDecoder}, sd3.5 repo fbf8f48)
 * on the golden tiny autoencoder (ch 32, ch_mult 1,2,2,2, 2 res blocks, 16 latent channels): float32 within 1e-4
 * of the reference's float64 run (its own float32 run differs from that by up to 5e-6).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VaeParityTest {
    private static final Logger LOG = LoggerFactory.getLogger(VaeParityTest.class);
    static final double TOLERANCE = 1e-4;

    private OnnxVae vae;

    static Path resource(String name) {
        try {
            return Path.of(VaeParityTest.class.getResource("/golden/vae/" + name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("missing test resource " + name, e);
        }
    }

    @BeforeAll
    void load() {
        vae = OnnxVae.load(resource("weights.safetensors"), OnnxOptions.cpu());
    }

    @AfterAll
    void close() {
        vae.close();
    }

    static double diff(String what, Tensor actual, Tensor expected) {
        assertThat(actual.shape()).containsExactly(expected.shape());
        double d = actual.maxAbsDiff(expected);
        LOG.info("VAE parity {}: max abs diff {}", what, d);
        return d;
    }

    @Test
    void infersTheTinyConfig() {
        VaeConfig c = vae.config();
        assertThat(c.levelChannels()).containsExactly(32, 64, 64, 64);
        assertThat(c.resBlocks()).isEqualTo(2);
        assertThat(c.zChannels()).isEqualTo(16);
        assertThat(c.downscale()).isEqualTo(8);
        assertThat(c.hasEncoder()).isTrue();
        assertThat(c.hasDecoder()).isTrue();
    }

    @Test
    void latentFormatIsSd3s() {
        assertThat(vae.latentFormat()).isEqualTo(new LatentFormat(16, 8, 1.5305, 0.0609));
        try (TensorSource g = Safetensors.open(resource("latent_format.safetensors"))) {
            Tensor x = g.toFloatTensor("x");
            assertThat(diff("process_in", vae.latentFormat().toDenoiserSpace(x), g.toFloatTensor("process_in_f64")))
                    .isLessThan(1e-6);
            assertThat(diff("process_out", vae.latentFormat().toVaeSpace(x), g.toFloatTensor("process_out_f64")))
                    .isLessThan(1e-6);
        }
    }

    @Test
    void decodeMatchesReference() {
        try (TensorSource g = Safetensors.open(resource("decode_8x8.safetensors"))) {
            Tensor image = vae.decode(g.toFloatTensor("latent"));
            assertThat(diff("decode_8x8 vs f64", image, g.toFloatTensor("image_f64"))).isLessThan(TOLERANCE);
            assertThat(diff("decode_8x8 vs f32", image, g.toFloatTensor("image"))).isLessThan(TOLERANCE);
        }
    }

    @Test
    void encodeMatchesReference() {
        try (TensorSource g = Safetensors.open(resource("encode_32x32.safetensors"))) {
            LatentDistribution d = vae.encode(g.toFloatTensor("image"));
            assertThat(diff("encode_32x32 mean", d.mean(), g.toFloatTensor("mean_f64"))).isLessThan(TOLERANCE);
            assertThat(diff("encode_32x32 logvar", d.logvar(), g.toFloatTensor("logvar_f64"))).isLessThan(TOLERANCE);
            assertThat(diff("encode_32x32 sample", d.sample(g.toFloatTensor("eps")), g.toFloatTensor("sample_f64")))
                    .isLessThan(TOLERANCE);
        }
    }

    @Test
    void primitiveAttentionAtStaticSizesMatchesReference() {
        // How a training graph emits the autoencoder: attention as MatMul-Softmax-MatMul, every size static.
        Path file = resource("weights.safetensors");
        try (TensorSource w = Safetensors.open(file);
             TensorSource g = Safetensors.open(resource("encode_32x32.safetensors"))) {
            VaeWeights weights = VaeWeights.of(w, file);
            VaeConfig config = VaeConfig.infer(weights);
            Tensor image = g.toFloatTensor("image");
            GraphBuilder b = new GraphBuilder("vae_primitive");
            Value x = b.input("images", ElementType.FLOAT, Dim.of(image.dim(0)), Dim.of(3), Dim.of(image.dim(2)),
                    Dim.of(image.dim(3)));
            Value moments = VaeGraph.emitEncoder(b, config, weights, MmditGraph.Attention.PRIMITIVE, x);
            Value mean = b.slice(moments, 1, 0, config.zChannels());
            b.output(moments, "moments");
            b.output(VaeGraph.emitDecoder(b, config, weights, MmditGraph.Attention.PRIMITIVE, mean), "decoded");
            try (GraphSession s = GraphSession.create(b.build(), OnnxOptions.cpu(),
                    GraphSession.WeightBinding.INPUTS)) {
                var out = s.run(java.util.Map.of("images", image));
                LatentDistribution d = LatentDistribution.fromMoments(out.get("moments"));
                assertThat(diff("primitive mean", d.mean(), g.toFloatTensor("mean_f64"))).isLessThan(TOLERANCE);
                assertThat(diff("primitive logvar", d.logvar(), g.toFloatTensor("logvar_f64"))).isLessThan(TOLERANCE);
                assertThat(diff("primitive decode", out.get("decoded"), vae.decode(d.mean()))).isLessThan(TOLERANCE);
            }
        }
    }

    @Test
    void batchesDecodeIndependently() {
        try (TensorSource g = Safetensors.open(resource("decode_8x8.safetensors"))) {
            Tensor latent = g.toFloatTensor("latent");
            Tensor two = Tensor.concat(0, latent, latent.copy().scale(0.5f));
            Tensor images = vae.decode(two);
            assertThat(images.shape()).containsExactly(2, 3, 64, 64);
            Tensor first = images.slice(0, 1);
            assertThat(first.maxAbsDiff(vae.decode(latent))).isLessThan(1e-5);
        }
    }
}
