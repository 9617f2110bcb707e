package org.sd3j.examples.defaultmodel;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.sd3j.Sd3Exception;
import org.sd3j.examples.shapes.SceneGenerator;
import org.sd3j.examples.shapes.ShapeDatasetWriter;
import org.sd3j.image.Image;
import org.sd3j.internal.AtomicFiles;
import org.sd3j.model.EncoderRole;
import org.sd3j.schedule.TimeShift;
import org.sd3j.onnx.convert.CheckpointConverter;
import org.sd3j.onnx.model.Sd3Model;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.DType;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.SafetensorsWriter;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.AutoencoderTrainer;
import org.sd3j.train.AutoencoderTrainingSettings;
import org.sd3j.train.FullParameterTrainer;
import org.sd3j.train.TrainingListener;
import org.sd3j.train.TrainingProgress;
import org.sd3j.train.TrainingSettings;
import org.sd3j.train.data.AspectBuckets;
import org.sd3j.train.data.BucketSize;
import org.sd3j.train.data.CachedDataset;
import org.sd3j.train.data.EncodingModel;
import org.sd3j.train.data.ImageCaptionDataset;
import org.sd3j.train.data.ImageFolder;
import org.sd3j.train.data.ModelFingerprint;
import org.sd3j.train.data.PrecomputeCache;
import org.sd3j.train.optim.AdamWSettings;
import org.sd3j.train.optim.LearningRateSchedule;
import org.sd3j.train.step.TimestepSampler;
import org.sd3j.train.step.AutoencoderStep;
import org.sd3j.train.vae.LatentScaling;
import org.sd3j.train.vae.ReconstructionMetrics;

/**
 * Trains the bundled default model from scratch, the paper's recipe at small scale, in resumable stages inside one
 * work folder (a stage whose output exists is skipped; an interrupted training stage continues from its checkpoint):
 *
 * <ol>
 *   <li>{@code data/}: captioned shape images from {@link SceneGenerator} with {@link #DATA_SEED}, 64x64;</li>
 *   <li>{@code vae/vae.safetensors}: the 16-channel autoencoder trained on them ({@link AutoencoderTrainer}), its
 *       latent scaling and shift measured on them;</li>
 *   <li>{@code base/}: the single-file checkpoint to train: seeded frozen text encoders and tokenizers
 *       ({@link DefaultModelWriter}), that VAE, an MMDiT initialised for training (adaLN-Zero); and its ONNX
 *       conversion, whose encoders and VAE fill</li>
 *   <li>{@code cache/}: latents and all three encoders' outputs of every image (fp16);</li>
 *   <li>{@code mmdit/}: rectified-flow training of every MMDiT weight ({@link FullParameterTrainer}): logit-normal(0,
 *       1) timesteps, shift {@value #SHIFT}, 46.4% dropout per encoder, AdamW with warm-up, EMA;</li>
 *   <li>the output file: the EMA MMDiT and the VAE in float16 with the run's provenance in its metadata, which
 *       {@code DefaultModelWriter} turns into the bundled ONNX folder at build time.</li>
 * </ol>
 *
 * <p>Every random draw is seeded; the same plan gives the same model on the same machine.
 */
public final class DefaultModelRecipe {
    /** Seed of the training images (held-out evaluation captions use another). */
    public static final long DATA_SEED = 20241207L;
    /**
     * The timestep shift used for training and written as the model's sampling shift. The paper's rule (shift
     * sqrt(m/n) against its 256^2 base) would say 0.25 for 64^2; but what the evaluation asks for (colours, layout,
     * counts) is decided at high noise, which a shift below 1 would rarely train, so the base resolution's 1.0.
     */
    public static final double SHIFT = 1.0;
    /**
     * The classifier-free guidance scale recorded with the trained weights as the model's recommendation
     * ({@value #GUIDANCE_KEY}), chosen with {@code sd3 eval --captions validation} over 1.5 to 7: SD3's 7.0
     * oversaturates this small model's colours and scatters extra blobs, which cost colour and count.
     */
    public static final double GUIDANCE = 2.5;
    /** The metadata key of {@link #GUIDANCE} in the trained weights. */
    public static final String GUIDANCE_KEY = "sampling.guidance";
    /** Where the build looks for the trained weights (relative to the sd3-examples module). */
    public static final String SHIPPED_WEIGHTS = "src/main/model/default-model.safetensors";

    private static final int SIZE = DefaultModelWriter.IMAGE_SIZE;

    private DefaultModelRecipe() {
    }

    /**
     * How much of everything: images, steps, batch sizes and learning rates.
     *
     * @param images     training images generated
     * @param vaeSteps   autoencoder optimizer steps
     * @param vaeBatch   autoencoder images per step
     * @param vaeLearningRate autoencoder peak learning rate (100 warm-up steps, then a cosine decay to 5%)
     * @param decoderSteps then decoder-only fine-tuning steps (same batch; the encoder, hence every cached latent,
     *                   stays as it is); 0 skips the stage
     * @param decoderLearningRate its peak learning rate (same schedule shape)
     * @param steps      MMDiT optimizer steps
     * @param batch      MMDiT samples per step
     * @param learningRate MMDiT peak learning rate (after a linear warm-up of {@code warmup} steps)
     * @param warmup     warm-up steps
     * @param emaDecay   EMA decay of the exported MMDiT weights
     * @param seed       seed of the training runs (initialisation, batches, noise, timesteps, dropout)
     */
    public record Plan(int images, long vaeSteps, int vaeBatch, double vaeLearningRate, long decoderSteps,
                       double decoderLearningRate, long steps, int batch, double learningRate, long warmup,
                       double emaDecay, long seed) {
        /**
         * The shipped model's amounts in one run (it was trained in pieces: the autoencoder restarted once, the MMDiT
         * 38,000 steps, then resumed to 68,000 with its decay restarted, the decoder tuned twice for 1,000 steps; see
         * the README).
         */
        public static Plan defaults() {
            return new Plan(20_000, 2_700, 16, 1e-3, 2_000, 1e-4, 68_000, 32, 3e-4, 500, 0.999, 1L);
        }

        public Plan withSteps(long mmditSteps) {
            return new Plan(images, vaeSteps, vaeBatch, vaeLearningRate, decoderSteps, decoderLearningRate,
                    mmditSteps, batch, learningRate, warmup, emaDecay, seed);
        }

        public Plan withVaeSteps(long steps) {
            return new Plan(images, steps, vaeBatch, vaeLearningRate, decoderSteps, decoderLearningRate, this.steps,
                    batch, learningRate, warmup, emaDecay, seed);
        }

        public Plan withDecoderSteps(long steps) {
            return new Plan(images, vaeSteps, vaeBatch, vaeLearningRate, steps, decoderLearningRate, this.steps,
                    batch, learningRate, warmup, emaDecay, seed);
        }

        public Plan withImages(int count) {
            return new Plan(count, vaeSteps, vaeBatch, vaeLearningRate, decoderSteps, decoderLearningRate, steps,
                    batch, learningRate, warmup, emaDecay, seed);
        }

        public Plan withBatch(int samples) {
            return new Plan(images, vaeSteps, vaeBatch, vaeLearningRate, decoderSteps, decoderLearningRate, steps,
                    samples, learningRate, warmup, emaDecay, seed);
        }
    }

    /** Progress of the long stages; {@link #stopRequested()} makes them checkpoint and return (resumable). */
    public abstract static class Listener extends TrainingListener {
        /** A stage starts, or says what it measured. */
        public abstract void stage(String what);
    }

    /** The stages, in order. */
    public enum Stage {
        DATA, AUTOENCODER, CACHE, MMDIT
    }

    /**
     * Where a run starts and where it stops.
     *
     * @param continueFrom an earlier output (e.g. the shipped weights) whose VAE is kept and whose MMDiT trains
     *                     further (fresh optimizer state), or null to train from scratch
     * @param vaeFrom      an autoencoder file to continue training (fresh optimizer state) instead of a new one, or
     *                     null
     * @param until        the last stage to run
     */
    public record Start(Path continueFrom, Path vaeFrom, Stage until) {
        public Start {
            if (until == null) {
                throw new IllegalArgumentException("until must be a stage, found null");
            }
            if (continueFrom != null && vaeFrom != null) {
                throw new IllegalArgumentException("vaeFrom must be null when continuing from " + continueFrom
                        + " (its autoencoder is kept), found " + vaeFrom);
            }
        }

        /** Every stage, from nothing. */
        public static Start fromScratch() {
            return new Start(null, null, Stage.MMDIT);
        }
    }

    /**
     * Runs every stage not done yet in {@code work} and writes the trained weights to {@code output}.
     *
     * @return {@code output}; with {@code until} before {@link Stage#MMDIT}, that stage's product (the data folder,
     *         the autoencoder file, the cache folder); null when a stop was requested first (run again to continue)
     */
    public static Path run(Path work, Plan plan, OnnxOptions onnx, Path output, Start start, Listener listener) {
        Path continueFrom = start.continueFrom();
        try {
            Files.createDirectories(work);
            Path data = work.resolve("data");
            if (!Files.isDirectory(data)) {
                listener.stage("Generating " + plan.images() + " captioned images into " + data);
                new ShapeDatasetWriter(SIZE).write(data, new SceneGenerator(DATA_SEED), plan.images());
            }
            if (start.until() == Stage.DATA) {
                return data;
            }
            Path vae = work.resolve("vae").resolve("vae.safetensors");
            if (continueFrom != null && !Files.isRegularFile(vae)) {
                listener.stage("Continuing from " + continueFrom + ": its autoencoder is kept");
                extractVae(continueFrom, vae);
            }
            if (!Files.isRegularFile(vae)) {
                if (!trainAutoencoder(work.resolve("vae"), data, vae, plan, onnx, start.vaeFrom(), listener)) {
                    return null;
                }
            }
            // The base model and the cache may use either file: their encoders are bit-identical.
            Path shippedVae = vae;
            if (plan.decoderSteps() > 0 && continueFrom == null) {
                shippedVae = work.resolve("decoder").resolve("vae.safetensors");
                if (!Files.isRegularFile(shippedVae)
                        && !tuneDecoder(work.resolve("decoder"), data, vae, shippedVae, plan, onnx, listener)) {
                    return null;
                }
            }
            if (start.until() == Stage.AUTOENCODER) {
                return shippedVae;
            }
            Path base = work.resolve("base");
            Path checkpoint = base.resolve(DefaultModelWriter.CHECKPOINT);
            Path baseOnnx = work.resolve("base-onnx");
            if (!Files.isRegularFile(baseOnnx.resolve("model_index.json"))) {
                listener.stage("Writing the untrained model (frozen encoders, trained VAE, MMDiT at adaLN-Zero)");
                DefaultModelWriter.writeCheckpoint(base, continueFrom == null
                        ? DefaultModelWriter.Weights.forTraining(vae)
                        : new DefaultModelWriter.Weights(continueFrom, vae, false));
                DefaultModelWriter.deleteTree(baseOnnx);
                CheckpointConverter.convert(checkpoint, baseOnnx, CheckpointConverter.Options.defaults()
                        .withClipHeads(EncoderRole.CLIP_L, DefaultModelWriter.CLIP_HEADS)
                        .withClipHeads(EncoderRole.CLIP_G, DefaultModelWriter.CLIP_HEADS)
                        .withTokenizers(base));
            }
            Path cacheDir = work.resolve("cache");
            CachedDataset dataset;
            try (Sd3Model frozen = Sd3Model.load(baseOnnx, onnx)) {
                EncodingModel encoding = EncodingModel.of(frozen);
                ModelFingerprint fingerprint = ModelFingerprint.of(encoding);
                PrecomputeCache cache;
                if (Files.isRegularFile(cacheDir.resolve("manifest.json"))) {
                    cache = PrecomputeCache.open(cacheDir);
                    cache.verify(fingerprint);
                } else {
                    listener.stage("Precomputing latents and text encodings of " + plan.images() + " images");
                    ImageCaptionDataset images = ImageCaptionDataset.scan(data,
                            ImageCaptionDataset.Options.builder(AspectBuckets.single(SIZE, SIZE))
                                    .noDeduplication().build());
                    cache = PrecomputeCache.build(images, encoding, cacheDir);
                }
                dataset = CachedDataset.open(cache, fingerprint, CachedDataset.Options.builder()
                        .batchSize(plan.batch()).seed(plan.seed()).build());
            }
            if (start.until() == Stage.CACHE) {
                return cacheDir;
            }
            Path mmdit = work.resolve("mmdit");
            TrainingSettings settings = TrainingSettings.builder(plan.steps(), mmdit)
                    .optimizer(AdamWSettings.defaults().withLearningRate(plan.learningRate()))
                    .schedule(mmditSchedule(plan))
                    .timesteps(TimestepSampler.logitNormal(0, 1, TimeShift.of(SHIFT)))
                    .emaDecay(plan.emaDecay())
                    .checkpointEvery(250)
                    .seed(plan.seed())
                    .build();
            listener.stage("Training the MMDiT: " + plan.steps() + " steps of " + plan.batch() + " samples");
            try (FullParameterTrainer trainer = FullParameterTrainer.create(checkpoint, onnx, settings)) {
                RunLog log = new RunLog(work.resolve("mmdit-log.csv"));
                trainer.train(dataset, log.wrap(listener));
                if (listener.stopRequested() && log.lastStep() < plan.steps()) {
                    return null;
                }
                listener.stage("Writing " + output);
                export(trainer, shippedVae, output, plan, log, continueFrom);
            }
            return output;
        } catch (IOException e) {
            throw new Sd3Exception("Training the default model in " + work + " failed: " + e.getMessage(), e);
        }
    }

    /**
     * Warm-up, then the peak rate, then a cosine to 0 over the last fifth of the steps: the decay settles the
     * weights (the EMA alone smooths over only its ~1000-step horizon), and a run continued with more steps goes
     * back to the peak and decays again at its new end.
     */
    static LearningRateSchedule mmditSchedule(Plan plan) {
        long decayStart = plan.steps() - plan.steps() / 5;
        return decayStart > plan.warmup() && plan.steps() > decayStart
                ? LearningRateSchedule.warmupStableDecay(plan.learningRate(), plan.warmup(), decayStart, plan.steps(),
                0)
                : LearningRateSchedule.warmupConstant(plan.learningRate(), plan.warmup());
    }

    private static boolean trainAutoencoder(Path dir, Path data, Path out, Plan plan, OnnxOptions onnx, Path from,
                                            Listener listener) throws IOException {
        listener.stage("Training the autoencoder: " + plan.vaeSteps() + " steps of " + plan.vaeBatch() + " images"
                + (from == null ? "" : ", continuing " + from));
        return runAutoencoder(dir, data, out, plan, plan.vaeSteps(), plan.vaeLearningRate(),
                AutoencoderStep.Trained.ALL, from, onnx, listener);
    }

    private static boolean tuneDecoder(Path dir, Path data, Path vae, Path out, Plan plan, OnnxOptions onnx,
                                       Listener listener) throws IOException {
        listener.stage("Fine-tuning the autoencoder's decoder: " + plan.decoderSteps() + " steps of "
                + plan.vaeBatch() + " images (the encoder stays as it is)");
        return runAutoencoder(dir, data, out, plan, plan.decoderSteps(), plan.decoderLearningRate(),
                AutoencoderStep.Trained.DECODER, vae, onnx, listener);
    }

    /** @return false when a stop was requested first (the checkpoint stays for the next run) */
    private static boolean runAutoencoder(Path dir, Path data, Path out, Plan plan, long steps, double learningRate,
                                          AutoencoderStep.Trained trained, Path from, OnnxOptions onnx,
                                          Listener listener) throws IOException {
        List<Image> all = ImageFolder.read(data, new BucketSize(SIZE, SIZE));
        int held = Math.min(256, all.size() / 10);
        List<Image> heldOut = all.subList(0, held);
        List<Image> train = all.subList(held, all.size());
        AutoencoderTrainingSettings settings = AutoencoderTrainingSettings.builder(steps, dir)
                .imageSize(SIZE, SIZE).batchSize(plan.vaeBatch()).seed(plan.seed()).checkpointEvery(250)
                .optimizer(new AdamWSettings(learningRate, AdamWSettings.DEFAULT_BETA1,
                        AdamWSettings.DEFAULT_BETA2, AdamWSettings.DEFAULT_EPSILON, 0))
                // A constant 1e-3 trained fastest, then blew up at step ~1200 (26.5 -> 18.6 dB held out): decay it.
                .schedule(LearningRateSchedule.warmupCosine(learningRate, Math.min(100, steps / 10), steps,
                        0.05 * learningRate))
                .trained(trained)
                .build();
        listener.stage(train.size() + " training images, " + heldOut.size() + " held out");
        try (AutoencoderTrainer trainer = from == null
                ? AutoencoderTrainer.fromScratch(DefaultModelWriter.vaeConfig(), onnx, settings)
                : AutoencoderTrainer.fromWeights(from, onnx, settings)) {
            List<Image> probe = heldOut.subList(0, Math.min(64, heldOut.size()));
            trainer.train(train, new Listener() {
                @Override
                public void stage(String what) {
                    listener.stage(what);
                }

                @Override
                public void onStart(long firstStep, long totalSteps) {
                    listener.onStart(firstStep, totalSteps);
                }

                @Override
                public void onStep(TrainingProgress progress) {
                    listener.onStep(progress);
                }

                @Override
                public void onCheckpoint(long step, Path file) {
                    listener.stage("autoencoder step " + step + ": held-out " + trainer.evaluate(probe));
                    listener.onCheckpoint(step, file);
                }

                @Override
                public boolean stopRequested() {
                    return listener.stopRequested();
                }
            });
            if (listener.stopRequested()) {
                return false;
            }
            ReconstructionMetrics metrics = trainer.evaluate(heldOut);
            LatentScaling scaling;
            if (trained == AutoencoderStep.Trained.DECODER) {
                // Same encoder, same latents: keep the factors the cache and the MMDiT were made with.
                try (TensorSource s = Safetensors.open(from)) {
                    scaling = LatentScaling.fromMetadata(s.metadata());
                }
            } else {
                scaling = trainer.measureLatentScaling(train.subList(0, Math.min(1024, train.size())));
            }
            listener.stage("Autoencoder: held-out " + metrics + "; latent " + scaling);
            trainer.writeWeights(out, scaling);
            Files.writeString(dir.resolve("metrics.txt"), metrics + "\n" + scaling + "\n", StandardCharsets.UTF_8);
        }
        return true;
    }

    /** The VAE tensors and metadata of an earlier output, as a VAE file of their own. */
    private static void extractVae(Path from, Path vae) throws IOException {
        SafetensorsWriter w = SafetensorsWriter.create();
        try (TensorSource s = Safetensors.open(from)) {
            for (String name : s.names()) {
                if (name.startsWith(DefaultModelWriter.VAE_PREFIX)) {
                    w.add(name, s.toFloatTensor(name));
                }
            }
            s.metadata().forEach((k, v) -> {
                if (k.startsWith("vae.")) {
                    w.metadata(k.substring(4), v);
                }
            });
        }
        Files.createDirectories(vae.getParent());
        w.write(vae);
    }

    /** The EMA MMDiT and the VAE, float16, with provenance. */
    private static void export(FullParameterTrainer trainer, Path vae, Path output, Plan plan, RunLog log,
                               Path continueFrom) throws IOException {
        long earlierSteps = 0;
        long earlierSeconds = 0;
        String earlierCurve = "";
        if (continueFrom != null) {
            try (TensorSource s = Safetensors.open(continueFrom)) {
                earlierSteps = Long.parseLong(s.metadata().getOrDefault("training.steps", "0"));
                earlierSeconds = Long.parseLong(s.metadata().getOrDefault("training.wall_time_seconds", "0"));
                earlierCurve = s.metadata().getOrDefault("training.loss_curve", "");
            }
        }
        Path tmp = Files.createTempDirectory("sd3j-default-export");
        try {
            Path full = tmp.resolve("trained.safetensors");
            trainer.writeCheckpoint(full, Map.of(), true);
            SafetensorsWriter w = SafetensorsWriter.create();
            try (TensorSource s = Safetensors.open(full); TensorSource v = Safetensors.open(vae)) {
                for (String name : s.names()) {
                    if (name.startsWith(DefaultModelWriter.MMDIT_PREFIX)) {
                        w.addAs(name, s.toFloatTensor(name), DType.F16);
                    }
                }
                for (String name : v.names()) {
                    w.addAs(name.startsWith(DefaultModelWriter.VAE_PREFIX) ? name : DefaultModelWriter.VAE_PREFIX
                            + name, v.toFloatTensor(name), DType.F16);
                }
                v.metadata().forEach((k, val) -> w.metadata("vae." + k, val));
            }
            Map<String, String> provenance = new LinkedHashMap<>();
            provenance.put("recipe", DefaultModelRecipe.class.getName());
            provenance.put("data", "SceneGenerator seed " + DATA_SEED + ", " + plan.images() + " images " + SIZE
                    + "x" + SIZE);
            provenance.put("plan", plan.toString());
            provenance.put("shift", Double.toString(SHIFT));
            provenance.put("steps", Long.toString(earlierSteps + log.lastStep()));
            provenance.put("wall_time_seconds", Long.toString(earlierSeconds + log.totalSeconds()));
            provenance.put("loss_curve", (earlierCurve.isEmpty() ? "" : earlierCurve + " | then ")
                    + log.summary(10));
            if (continueFrom != null) {
                provenance.put("continued_from_steps", Long.toString(earlierSteps));
            }
            provenance.forEach((k, val) -> w.metadata("training." + k, val));
            w.metadata(GUIDANCE_KEY, Double.toString(GUIDANCE));
            Files.createDirectories(output.toAbsolutePath().getParent());
            w.write(output);
        } finally {
            DefaultModelWriter.deleteTree(tmp);
        }
    }

    /**
     * Appends every step's loss, learning rate and cumulative wall time to a CSV in the work folder, across
     * resumed sessions, for the provenance's loss curve and duration.
     */
    static final class RunLog {
        private final Path file;
        private final List<double[]> rows = new ArrayList<>(); // step, loss, seconds
        private double secondsBefore;

        RunLog(Path file) throws IOException {
            this.file = file;
            if (Files.isRegularFile(file)) {
                for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                    String[] p = line.split(",");
                    if (p.length == 4 && !p[0].equals("step")) {
                        rows.add(new double[] {Double.parseDouble(p[0]), Double.parseDouble(p[1]),
                                Double.parseDouble(p[3])});
                    }
                }
            }
            secondsBefore = rows.isEmpty() ? 0 : rows.get(rows.size() - 1)[2];
        }

        long lastStep() {
            return rows.isEmpty() ? 0 : (long) rows.get(rows.size() - 1)[0];
        }

        long totalSeconds() {
            return rows.isEmpty() ? 0 : Math.round(rows.get(rows.size() - 1)[2]);
        }

        /** Mean loss over each of {@code parts} equal spans of the steps: {@code "1-1200: 0.812; ..."}. */
        String summary(int parts) {
            if (rows.isEmpty()) {
                return "";
            }
            StringBuilder s = new StringBuilder();
            int n = rows.size();
            for (int p = 0; p < parts; p++) {
                int from = p * n / parts;
                int to = (p + 1) * n / parts;
                if (to <= from) {
                    continue;
                }
                double sum = 0;
                for (int i = from; i < to; i++) {
                    sum += rows.get(i)[1];
                }
                s.append(s.length() == 0 ? "" : "; ").append(String.format(Locale.ROOT, "%d-%d: %.4f",
                        (long) rows.get(from)[0], (long) rows.get(to - 1)[0], sum / (to - from)));
            }
            return s.toString();
        }

        Listener wrap(Listener inner) {
            return new Listener() {
                private double sessionStart = Double.NaN;

                @Override
                public void stage(String what) {
                    inner.stage(what);
                }

                @Override
                public void onStart(long firstStep, long totalSteps) {
                    // A resumed run may repeat steps after the last checkpoint: drop their old rows.
                    rows.removeIf(r -> r[0] > firstStep);
                    secondsBefore = rows.isEmpty() ? 0 : rows.get(rows.size() - 1)[2];
                    inner.onStart(firstStep, totalSteps);
                }

                @Override
                public void onStep(TrainingProgress progress) {
                    double seconds = secondsBefore + progress.elapsed().toNanos() / 1e9;
                    rows.add(new double[] {progress.step(), progress.loss(), seconds});
                    inner.onStep(progress);
                }

                @Override
                public void onCheckpoint(long step, Path checkpoint) {
                    write();
                    inner.onCheckpoint(step, checkpoint);
                }

                @Override
                public boolean stopRequested() {
                    return inner.stopRequested();
                }
            };
        }

        private void write() {
            StringBuilder s = new StringBuilder("step,loss,lr,seconds\n");
            for (double[] r : rows) {
                s.append((long) r[0]).append(',').append(r[1]).append(",0,").append(r[2]).append('\n');
            }
            try {
                AtomicFiles.write(file, tmp -> Files.writeString(tmp, s, StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new Sd3Exception("Cannot write " + file + ": " + e.getMessage(), e);
            }
        }
    }
}
