package org.sd3j.train.vae;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import org.sd3j.image.Image;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.vae.VaeConfig;
import org.sd3j.train.AutoencoderStepLoss;
import org.sd3j.train.AutoencoderTrainer;
import org.sd3j.train.AutoencoderTrainingSettings;
import org.sd3j.train.TrainingListener;
import org.sd3j.train.TrainingProgress;
import org.sd3j.train.optim.AdamWSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A longer autoencoder training run on {@link ShapeImages}, on demand (not a test): logs the loss and the held-out
 * PSNR as it goes, then the latent scaling, and writes the weights. {@code -Dinit=FILE} continues from weights a
 * previous run wrote (a new optimizer and schedule).
 *
 * <pre>
 * java -cp ... org.sd3j.train.vae.AutoencoderTrainingRun DIR STEPS [EVAL_EVERY] [CHANNELS e.g. 32,64,64,64]
 *      [RES_BLOCKS] [BATCH] [LR] [THREADS] [TRAIN_IMAGES] [L1|MSE] [GROUPS]
 * </pre>
 */
public final class AutoencoderTrainingRun {
    private static final Logger LOG = LoggerFactory.getLogger(AutoencoderTrainingRun.class);

    private AutoencoderTrainingRun() {
    }

    public static void main(String[] args) {
        Path dir = Path.of(args[0]);
        long steps = Long.parseLong(args[1]);
        long evalEvery = args.length > 2 ? Long.parseLong(args[2]) : 100;
        int[] channels = args.length > 3 ? Arrays.stream(args[3].split(",")).mapToInt(Integer::parseInt).toArray()
                : AutoencoderTrainer.defaultConfig().levelChannels();
        int resBlocks = args.length > 4 ? Integer.parseInt(args[4]) : 1;
        int batch = args.length > 5 ? Integer.parseInt(args[5]) : 8;
        double lr = args.length > 6 ? Double.parseDouble(args[6]) : AutoencoderTrainingSettings.DEFAULT_LEARNING_RATE;
        int threads = args.length > 7 ? Integer.parseInt(args[7]) : 2;
        int trainImages = args.length > 8 ? Integer.parseInt(args[8]) : 4096;
        String loss = args.length > 9 ? args[9] : "MSE";
        int groups = args.length > 10 ? Integer.parseInt(args[10]) : AutoencoderTrainer.defaultConfig().normGroups();

        List<Image> train = ShapeImages.draw(1, 0, trainImages, 64, true);
        List<Image> heldOut = ShapeImages.draw(2, 0, 64, 64, true);
        VaeConfig config = new VaeConfig(channels, resBlocks, 16, 3, true, true, 1, 0, groups);
        LOG.info("Config {}: {} parameters", config, VaeInit.parameterCount(config));
        AutoencoderTrainingSettings settings = AutoencoderTrainingSettings.builder(steps, dir.resolve("run"))
                .batchSize(batch).seed(1).checkpointEvery(Math.max(evalEvery, 500))
                .schedule(org.sd3j.train.optim.LearningRateSchedule.warmupCosine(lr, Math.min(100, steps / 10), steps,
                        lr / 10))
                .optimizer(new AdamWSettings(lr, 0.9, 0.999, 1e-8, 0))
                .reconstruction(org.sd3j.train.step.AutoencoderStep.Reconstruction.valueOf(loss)).build();
        String init = System.getProperty("init"); // continue from weights a previous run wrote
        OnnxOptions options = OnnxOptions.cpu().withIntraOpThreads(threads);
        try (AutoencoderTrainer t = init != null ? AutoencoderTrainer.fromWeights(Path.of(init), options, settings)
                : AutoencoderTrainer.fromScratch(config, options, settings)) {
            LOG.info("step 0: held-out {}", t.evaluate(heldOut));
            long[] chunkStart = {System.nanoTime()};
            double[] recSum = {0};
            List<AutoencoderStepLoss> losses = t.train(train, new TrainingListener() {
                @Override
                public void onStep(TrainingProgress p) {
                    if (p.step() % evalEvery == 0) {
                        double perStep = (System.nanoTime() - chunkStart[0]) / 1e9 / evalEvery;
                        LOG.info("step {}: loss {}, lr {}, grad norm {}, {} s/step, elapsed {} s, held-out {}",
                                p.step(), String.format("%.5f", p.loss()), String.format("%.2e", p.learningRate()),
                                String.format("%.3f", p.gradientNorm()), String.format("%.3f", perStep),
                                p.elapsed().toSeconds(), t.evaluate(heldOut));
                        chunkStart[0] = System.nanoTime();
                    }
                }
            });
            LOG.info("last reconstruction {}, kl {}", losses.get(losses.size() - 1).reconstruction(),
                    losses.get(losses.size() - 1).kl());
            LatentScaling scaling = t.measureLatentScaling(train.subList(0, 256));
            LOG.info("Latent scaling {}, final held-out {}", scaling, t.evaluate(heldOut));
            t.writeWeights(dir.resolve("vae.safetensors"), scaling);
        }
    }
}
