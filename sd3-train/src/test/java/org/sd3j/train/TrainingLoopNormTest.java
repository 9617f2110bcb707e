package org.sd3j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.optim.AdamWSettings;
import org.sd3j.train.optim.GradientClipping;
import org.sd3j.train.optim.LearningRateSchedule;

/** Which gradient norm the loop clips with and reports: the step graph's sums of squares, or the accumulated one. */
class TrainingLoopNormTest {
    @TempDir
    Path dir;

    /** Micro-batches whose gradients are (3, 4) * (micro + 1) and whose graph claims a squared norm of 49. */
    private static final class FixedSteps implements TrainingLoop.MicroSteps {
        final Map<String, Tensor> gradients = new LinkedHashMap<>(Map.of("w", Tensor.zeros(2)));

        @Override
        public void seek(Map<String, Long> position) {
        }

        @Override
        public Map<String, Long> position() {
            return Map.of();
        }

        @Override
        public double run(long step, int micro) {
            gradients.get("w").set(0, 3f * (micro + 1));
            gradients.get("w").set(1, 4f * (micro + 1));
            return 1.0;
        }

        @Override
        public Map<String, Tensor> gradients() {
            return gradients;
        }

        @Override
        public double squaredGradientNorm() {
            return 49.0; // deliberately not the gradients' 25: shows which one the loop used
        }
    }

    private List<Double> norms(int accumulation) {
        Map<String, Tensor> params = new LinkedHashMap<>(Map.of("w", Tensor.zeros(2)));
        TrainingLoop.Settings settings = new TrainingLoop.Settings(AdamWSettings.defaults(),
                LearningRateSchedule.constant(1e-3), GradientClipping.defaults(), accumulation, 2, 1,
                dir.resolve("a" + accumulation), 100, 0, "{}");
        TrainingLoop loop = new TrainingLoop(settings, dir.resolve("a" + accumulation + ".safetensors"), params);
        List<Double> norms = new ArrayList<>();
        loop.train(new FixedSteps(), new TrainingListener() {
            @Override
            public void onStep(TrainingProgress progress) {
                norms.add(progress.gradientNorm());
            }
        });
        return norms;
    }

    @Test
    void oneMicroBatchUsesTheStepGraphsSumOfSquares() {
        assertThat(norms(1)).containsExactly(7.0, 7.0);
    }

    @Test
    void accumulatedMicroBatchesUseTheNormOfTheirAverage() {
        // Average of (3, 4) and (6, 8) is (4.5, 6): norm 7.5, whatever the graph's sums say.
        assertThat(norms(2)).allSatisfy(n -> assertThat(n).isCloseTo(7.5, within(1e-9)));
    }
}
