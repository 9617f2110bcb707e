package org.sd3j.train.step;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.onnx.vae.VaeConfig;
import org.sd3j.onnx.vae.VaeWeights;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.vae.VaeFiles;
import org.sd3j.train.vae.VaeInit;
import org.slf4j.LoggerFactory;

/**
 * The autoencoder step's gradients against five-point finite differences of its loss, in float32 (ONNX Runtime's
 * CPU convolutions exist in float32 only): a tiny two-level autoencoder (32 channels, downscale 2, z = 4) on a
 * batch of two 8x8 images, with a KL weight large enough (0.05) that the KL term's gradient counts. Probes every
 * kind of weight: convolutions before and after the downsampling and the nearest upsampling, GroupNorm scales and
 * shifts, the mid-block attention, a 1x1 shortcut, and the moments' log-variance rows.
 */
class AutoencoderStepGradientTest {
    @TempDir
    Path dir;

    @Test
    void everyKindOfWeightGetsTheFiniteDifferenceGradient() {
        VaeConfig config = new VaeConfig(new int[] {32, 32}, 1, 4, 3, true, true, 1, 0);
        Path file = dir.resolve("vae.safetensors");
        VaeFiles.write(file, VaeInit.random(config, 7), Map.of());
        SplittableRandom random = new SplittableRandom(11);
        try (TensorSource source = Safetensors.open(file)) {
            VaeWeights weights = VaeWeights.of(source, file);
            AutoencoderStep.StepGraph step = AutoencoderStep.build(config, weights, 8, 8,
                    AutoencoderStep.Reconstruction.MSE, 0.05);
            List<String> probe = List.of("encoder.conv_in.weight", "encoder.down.0.block.0.conv2.bias",
                    "encoder.down.0.downsample.conv.weight", "encoder.mid.attn_1.q.weight",
                    "encoder.mid.attn_1.norm.weight", "encoder.conv_out.weight", "decoder.conv_in.weight",
                    "decoder.mid.attn_1.proj_out.weight", "decoder.up.1.upsample.conv.weight",
                    "decoder.up.0.block.1.norm1.bias", "decoder.norm_out.weight", "decoder.conv_out.bias");
            assertThat(step.trainable()).containsAll(probe).hasSize(VaeInit.random(config, 0).size());

            Map<String, Tensor> in = new HashMap<>();
            in.put(AutoencoderStep.IMAGES, uniform(random, 2, 3, 8, 8));
            in.put(AutoencoderStep.NOISE, gaussian(random, 2, 4, 4, 4));
            OnnxOptions options = OnnxOptions.builder().optimizationLevel(OnnxOptions.OptimizationLevel.BASIC).build();
            try (GraphSession s = GraphSession.create(step.graph(), options, GraphSession.WeightBinding.INPUTS)) {
                Map<String, Tensor> base = s.run(in);
                double h = 1e-2;
                double worst = 0;
                for (String name : probe) {
                    Tensor w = source.toFloatTensor(VaeFiles.PREFIX + name);
                    in.put(name, w);
                    Tensor grad = base.get(AutoencoderStep.GRAD + name);
                    assertThat(grad.shape()).as(name).containsExactly(w.shape());
                    for (int k = 0; k < 2; k++) {
                        int i = largestAfter(grad, k);
                        float keep = w.get(i);
                        double[] l = new double[4];
                        double[] offsets = {2 * h, h, -h, -2 * h};
                        for (int o = 0; o < 4; o++) {
                            w.set(i, (float) (keep + offsets[o]));
                            l[o] = s.run(in).get(AutoencoderStep.LOSS).get(0);
                        }
                        w.set(i, keep);
                        double fd = (-l[0] + 8 * l[1] - 8 * l[2] + l[3]) / (12 * h);
                        double analytic = grad.get(i);
                        double err = Math.abs(analytic - fd) / Math.max(Math.abs(fd), 1e-3);
                        worst = Math.max(worst, err);
                        assertThat(err)
                                .as("%s[%d]: analytic %s, finite difference %s", name, i, analytic, fd)
                                .isLessThan(2e-2);
                    }
                    in.remove(name);
                }
                LoggerFactory.getLogger(AutoencoderStepGradientTest.class).info(
                        "Autoencoder step gradients: worst relative error {} over {} probes", worst, 2 * probe.size());
            }
        }
    }

    @Test
    void theLossIsTheReconstructionPlusTheWeightedKl() {
        VaeConfig config = new VaeConfig(new int[] {32, 32}, 1, 4, 3, true, true, 1, 0);
        Path file = dir.resolve("vae.safetensors");
        VaeFiles.write(file, VaeInit.random(config, 7), Map.of());
        SplittableRandom random = new SplittableRandom(5);
        try (TensorSource source = Safetensors.open(file)) {
            VaeWeights weights = VaeWeights.of(source, file);
            Map<String, Tensor> in = Map.of(AutoencoderStep.IMAGES, uniform(random, 1, 3, 8, 8),
                    AutoencoderStep.NOISE, gaussian(random, 1, 4, 4, 4));
            for (AutoencoderStep.Reconstruction r : AutoencoderStep.Reconstruction.values()) {
                AutoencoderStep.StepGraph step = AutoencoderStep.build(config, weights, 8, 8, r, 0.25);
                try (GraphSession s = GraphSession.create(step.graph(), OnnxOptions.cpu(),
                        GraphSession.WeightBinding.INPUTS)) {
                    Map<String, Tensor> out = s.run(in);
                    double rec = out.get(AutoencoderStep.RECONSTRUCTION).get(0);
                    double kl = out.get(AutoencoderStep.KL).get(0);
                    assertThat(rec).as(r.name()).isPositive();
                    assertThat(kl).as(r.name()).isPositive();
                    assertThat((double) out.get(AutoencoderStep.LOSS).get(0)).as(r.name())
                            .isCloseTo(rec + 0.25 * kl, org.assertj.core.data.Offset.offset(1e-5));
                }
            }
        }
    }

    @Test
    void refusesSizesThatAreNotMultiplesOfTheDownscale() {
        VaeConfig config = new VaeConfig(new int[] {32, 32}, 1, 4, 3, true, true, 1, 0);
        Path file = dir.resolve("vae.safetensors");
        VaeFiles.write(file, VaeInit.random(config, 7), Map.of());
        try (TensorSource source = Safetensors.open(file)) {
            VaeWeights weights = VaeWeights.of(source, file);
            assertThatThrownBy(() -> AutoencoderStep.build(config, weights, 9, 8, AutoencoderStep.Reconstruction.MSE,
                    0)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("width must be a positive multiple of 2, found 9");
            assertThatThrownBy(() -> AutoencoderStep.build(config, weights, 8, 8, AutoencoderStep.Reconstruction.MSE,
                    -1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("klWeight must be finite and >= 0, found -1.0");
        }
    }

    /** The index of the k-th largest |value| (probing where the gradient is far from rounding noise). */
    private static int largestAfter(Tensor t, int k) {
        Integer[] idx = new Integer[t.size()];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        java.util.Arrays.sort(idx, (a, b) -> Float.compare(Math.abs(t.get(b)), Math.abs(t.get(a))));
        return idx[k];
    }

    private static Tensor uniform(SplittableRandom r, int... shape) {
        Tensor t = Tensor.zeros(shape);
        for (int i = 0; i < t.size(); i++) {
            t.set(i, (float) (r.nextDouble() * 2 - 1));
        }
        return t;
    }

    private static Tensor gaussian(SplittableRandom r, int... shape) {
        Tensor t = Tensor.zeros(shape);
        for (int i = 0; i < t.size(); i++) {
            t.set(i, (float) r.nextGaussian());
        }
        return t;
    }
}
