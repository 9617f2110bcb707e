package org.sd3j.train;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.sd3j.Sd3Exception;
import org.sd3j.TrainingDivergedException;
import org.sd3j.image.Image;
import org.sd3j.internal.Checks;
import org.sd3j.internal.Closeables;
import org.sd3j.model.Vae;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.graph.WeightData;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.onnx.vae.VaeConfig;
import org.sd3j.onnx.vae.VaeFileConfig;
import org.sd3j.onnx.vae.VaeWeights;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.data.BucketSize;
import org.sd3j.train.data.CenterCropResize;
import org.sd3j.train.step.AutoencoderStep;
import org.sd3j.train.vae.LatentScaling;
import org.sd3j.train.vae.ReconstructionMetrics;
import org.sd3j.train.vae.VaeFiles;
import org.sd3j.train.vae.VaeInit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trains every weight (or only the decoder's: {@link AutoencoderStep.Trained}) of an SD3-style 16-channel autoencoder ({@link AutoencoderStep}: reconstruction plus a small
 * KL term) on a set of images, from a seeded random initialization ({@link #fromScratch}) or from existing weights
 * ({@link #fromWeights}). The same loop as {@link LoraTrainer} and {@link FullParameterTrainer}: reproducible
 * (the seed fixes the initial weights, the image order and the sampling noise), resumable from atomic checkpoints
 * with exactly the losses of an uninterrupted run, AdamW with a schedule, clipping, an optional EMA, and a clear
 * stop on divergence.
 *
 * <pre>{@code
 * AutoencoderTrainingSettings settings = AutoencoderTrainingSettings.builder(20_000, Path.of("vae-run"))
 *         .seed(1).build();
 * try (AutoencoderTrainer t = AutoencoderTrainer.fromScratch(AutoencoderTrainer.defaultConfig(), OnnxOptions.cpu(),
 *         settings)) {
 *     t.train(trainImages, TrainingListener.NONE);
 *     ReconstructionMetrics m = t.evaluate(heldOut);           // PSNR in dB
 *     LatentScaling s = t.measureLatentScaling(trainImages);   // SD3's scaling and shift, from data
 *     t.writeWeights(Path.of("vae.safetensors"), s);           // first_stage_model.* keys, s in the metadata
 * }
 * }</pre>
 *
 * <p>The weights being trained are writable float32 copies fed to the step graph as inputs and updated in place;
 * {@link #weights()} (the EMA when the run keeps one) is what {@link #vae()}, {@link #evaluate},
 * {@link #measureLatentScaling} and {@link #writeWeights} use. Owns its sessions and the mapping of the initial
 * weights; {@link #close()} releases them (idempotent). Not thread-safe.
 */
public final class AutoencoderTrainer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AutoencoderTrainer.class);
    /** The checkpoint file in {@link AutoencoderTrainingSettings#checkpointDir()}. */
    public static final String CHECKPOINT_FILE = LoraTrainer.CHECKPOINT_FILE;
    /** Metadata key of the run's settings (JSON) in the files {@link #writeWeights} writes. */
    public static final String SETTINGS_KEY = "sd3j.training";
    /** Metadata key of the optimizer steps behind the written weights. */
    public static final String STEPS_KEY = "sd3j.steps";
    /** Images per encoder or decoder call when evaluating. */
    private static final int EVAL_BATCH = 16;

    private final AutoencoderTrainingSettings settings;
    private final VaeConfig config;
    private final TensorSource source;
    private final Path temporary;
    private final GraphSession session;
    private final Map<String, Tensor> parameters;
    /** The weights {@link AutoencoderStep.Trained} leaves as loaded, written back with the trained ones. */
    private final Map<String, Tensor> frozen;
    private final List<String> trainable;
    private final TrainingLoop loop;
    private final WeightsVae vae;
    private long stepsDone;
    private boolean closed;

    private AutoencoderTrainer(AutoencoderTrainingSettings settings, VaeConfig config, VaeWeights declared,
                               TensorSource source, Path temporary, GraphSession session,
                               Map<String, Tensor> parameters, Map<String, Tensor> frozen, List<String> trainable,
                               OnnxOptions options) {
        this.settings = settings;
        this.config = config;
        this.source = source;
        this.temporary = temporary;
        this.session = session;
        this.parameters = parameters;
        this.frozen = frozen;
        this.trainable = trainable;
        this.loop = new TrainingLoop(settings.loopSettings(), checkpointFile(), parameters);
        this.vae = new WeightsVae(config, declared, options, this::weights);
    }

    /**
     * The default geometry for 64x64 images of simple shapes and short words: levels of 32, 64, 64 and 64 channels
     * (downscale 8), one ResNet block per encoder level (two per decoder level), 16 latent channels, 3 image
     * channels, 8 GroupNorm groups, latent scaling 1 and shift 0 until measured.
     *
     * <p>Why 8 groups rather than SD3's 32: GroupNorm with one channel per group is instance normalization, which
     * removes each channel's mean and scale over the image; before the decoder's last convolution that leaves it
     * unable to set an image's overall colours (a 32-channel test autoencoder learned about half as fast with 32
     * groups). SD3's 128 channels at the finest level give 4 per group; 8 groups give the same 4 at 32 channels.
     */
    public static VaeConfig defaultConfig() {
        return new VaeConfig(new int[] {32, 64, 64, 64}, 1, 16, 3, true, true, 1.0, 0.0, 8);
    }

    /**
     * A trainer for a new autoencoder of {@code config}'s geometry, its weights drawn by {@link VaeInit} from the
     * settings' seed.
     *
     * @throws IllegalArgumentException if the training size is not a multiple of the downscale factor, or the
     *                                  channels are not multiples of the GroupNorm groups
     */
    public static AutoencoderTrainer fromScratch(VaeConfig config, OnnxOptions onnxOptions,
                                                 AutoencoderTrainingSettings settings) {
        Checks.notNull(config, "config");
        Checks.notNull(onnxOptions, "onnxOptions");
        Checks.notNull(settings, "settings");
        if (settings.trained() != AutoencoderStep.Trained.ALL) {
            throw Checks.fail("settings.trained", "ALL for a new autoencoder (a frozen random encoder encodes nothing)",
                    settings.trained());
        }
        Map<String, Tensor> init = VaeInit.random(config, settings.seed());
        // VaeWeights reads a file: the initial weights go to a temporary one (in a folder of its own, where no
        // config.json can overrule the metadata), mapped for the graphs' declarations.
        Path folder;
        try {
            folder = Files.createTempDirectory("sd3j-vae-init");
        } catch (IOException e) {
            throw new Sd3Exception("Cannot create a temporary folder for the initial weights: " + e.getMessage(), e);
        }
        try {
            Path file = folder.resolve("init.safetensors");
            VaeFiles.write(file, init, declared(config));
            return open(file, folder, onnxOptions, settings);
        } catch (RuntimeException e) {
            deleteQuietly(folder, e);
            throw e;
        }
    }

    /** What a written file declares beyond its shapes, as {@code OnnxVae.load} reads it back. */
    private static Map<String, String> declared(VaeConfig config) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(VaeFileConfig.SCALING_FACTOR, Double.toString(config.scalingFactor()));
        m.put(VaeFileConfig.SHIFT_FACTOR, Double.toString(config.shiftFactor()));
        m.put(VaeFileConfig.NORM_GROUPS, Integer.toString(config.normGroups()));
        return m;
    }

    /**
     * A trainer that continues from existing weights (an SD3 checkpoint's {@code first_stage_model.*}, a standalone
     * or diffusers VAE file, e.g. one {@link #writeWeights} wrote), its geometry inferred from them and the latent
     * scaling and GroupNorm groups as the file declares them ({@link VaeFileConfig}); the file is only read.
     */
    public static AutoencoderTrainer fromWeights(Path vaeFile, OnnxOptions onnxOptions,
                                                 AutoencoderTrainingSettings settings) {
        Checks.notNull(vaeFile, "vaeFile");
        Checks.notNull(onnxOptions, "onnxOptions");
        Checks.notNull(settings, "settings");
        return open(vaeFile, null, onnxOptions, settings);
    }

    /** @param temporary a folder to delete on close, or null */
    private static AutoencoderTrainer open(Path file, Path temporary, OnnxOptions onnxOptions,
                                           AutoencoderTrainingSettings settings) {
        TensorSource source = Safetensors.open(file);
        GraphSession session = null;
        try {
            VaeWeights weights = VaeWeights.of(source, file);
            VaeConfig config = VaeFileConfig.read(weights, file, source.metadata());
            if (!config.hasEncoder() || !config.hasDecoder()) {
                throw new IllegalArgumentException("vaeFile must hold both the encoder and the decoder, found "
                        + config + " in " + file);
            }
            AutoencoderStep.StepGraph step = AutoencoderStep.build(config, weights, settings.width(),
                    settings.height(), settings.reconstruction(), settings.klWeight(), settings.trained());
            Map<String, Tensor> parameters = new LinkedHashMap<>();
            Map<String, Tensor> frozen = new LinkedHashMap<>();
            long count = 0;
            for (Map.Entry<String, WeightData> e : step.graph().weights().entrySet()) {
                Tensor copy = copyOf(e.getValue());
                if (step.trainable().contains(e.getKey())) {
                    parameters.put(e.getKey(), copy);
                    count += copy.size();
                } else {
                    frozen.put(e.getKey(), copy);
                }
            }
            // The batch stays symbolic: fixed (every shape known), ONNX Runtime's optimizations of this convolution
            // graph made a step about twice as slow (930 ms against 480 ms side by side, and as slow without its
            // NCHWc layout rewrite), unlike the MMDiT's steps, which fixed shapes make faster.
            session = GraphSession.create(step.graph(), onnxOptions, GraphSession.WeightBinding.INPUTS);
            LOG.info("Autoencoder training ({}): {} tensors, {} parameters ({} frozen tensors), {}x{} images, "
                    + "batch {}", config, parameters.size(), count, frozen.size(), settings.width(),
                    settings.height(), settings.batchSize());
            return new AutoencoderTrainer(settings, config, weights, source, temporary, session,
                    Collections.unmodifiableMap(parameters), Collections.unmodifiableMap(frozen), step.trainable(),
                    onnxOptions);
        } catch (RuntimeException e) {
            throw Closeables.closeAfterFailure(e, session, source);
        }
    }

    /** A writable float32 copy: the file stays read-only and untouched. */
    private static Tensor copyOf(WeightData d) {
        int[] shape = new int[d.shape().length];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = Math.toIntExact(d.shape()[i]);
        }
        Tensor copy = Tensor.zeros(shape);
        copy.asFloatBuffer().put(d.data().duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer());
        return copy;
    }

    /** The geometry (latent scaling 1, shift 0 for a new autoencoder; see {@link #measureLatentScaling}). */
    public VaeConfig config() {
        return config;
    }

    /** The trained tensors by canonical name (live: updated in place by each step). */
    public Map<String, Tensor> parameters() {
        return parameters;
    }

    /** The EMA of the weights, when the settings keep one (live). */
    public Optional<Map<String, Tensor>> emaWeights() {
        return loop.emaWeights();
    }

    /** The weights to use: the EMA when the run keeps one, else the trained ones (live). */
    public Map<String, Tensor> weights() {
        return loop.emaWeights().orElse(parameters);
    }

    /** Where checkpoints go. */
    public Path checkpointFile() {
        return settings.checkpointDir().resolve(CHECKPOINT_FILE);
    }

    /**
     * Trains until {@link AutoencoderTrainingSettings#steps()} steps are done, continuing from the checkpoint when
     * there is one (see {@link LoraTrainer#train}). Images of another size than the training size are
     * center-cropped and resized to it first ({@link CenterCropResize}).
     *
     * @param images the training images (at least one; read, never modified)
     * @return the losses of the steps this call ran, in order
     * @throws TrainingDivergedException when a loss or gradient is not finite (the last good checkpoint stays)
     */
    public List<AutoencoderStepLoss> train(List<Image> images, TrainingListener listener) {
        ensureOpen();
        Checks.notNull(images, "images");
        Checks.notNull(listener, "listener");
        if (images.isEmpty()) {
            throw Checks.fail("images", "non-empty", "none");
        }
        BucketSize size = new BucketSize(settings.width(), settings.height());
        List<byte[]> pixels = new ArrayList<>(images.size());
        for (Image image : images) {
            Checks.notNull(image, "images element");
            Image sized = image.width() == size.width() && image.height() == size.height() ? image
                    : CenterCropResize.apply(image, size);
            pixels.add(sized.toRgbBytes());
        }
        List<Double> losses;
        List<double[]> terms;
        try (AutoencoderSteps steps = new AutoencoderSteps(session, settings, config.zChannels(), config.downscale(),
                pixels, parameters, trainable)) {
            TrainingListener counting = new TrainingListener() {
                @Override
                public void onStart(long firstStep, long totalSteps) {
                    stepsDone = firstStep;
                    listener.onStart(firstStep, totalSteps);
                }

                @Override
                public void onStep(TrainingProgress progress) {
                    stepsDone = progress.step();
                    listener.onStep(progress);
                }

                @Override
                public void onCheckpoint(long step, Path file) {
                    listener.onCheckpoint(step, file);
                }

                @Override
                public boolean stopRequested() {
                    return listener.stopRequested();
                }
            };
            losses = loop.train(steps, counting);
            terms = steps.terms();
        }
        List<AutoencoderStepLoss> out = new ArrayList<>(losses.size());
        for (int i = 0; i < losses.size(); i++) {
            out.add(new AutoencoderStepLoss(losses.get(i), terms.get(i)[0], terms.get(i)[1]));
        }
        return out;
    }

    /**
     * The autoencoder with the current {@link #weights()} (a view: it follows further training), for evaluation
     * and previews. Owned by this trainer: valid until {@link #close()}.
     */
    public Vae vae() {
        ensureOpen();
        return vae;
    }

    /** {@link ReconstructionMetrics#measure} of {@link #vae()} on {@code images} (e.g. a held-out set). */
    public ReconstructionMetrics evaluate(List<Image> images) {
        ensureOpen();
        return ReconstructionMetrics.measure(vae, images, EVAL_BATCH);
    }

    /** {@link LatentScaling#measure} of {@link #vae()} on {@code images}. */
    public LatentScaling measureLatentScaling(List<Image> images) {
        ensureOpen();
        return LatentScaling.measure(vae, images, EVAL_BATCH);
    }

    /**
     * Writes {@link #weights()} (with the weights the run leaves frozen) as an SD3 autoencoder file ({@link VaeFiles}: {@code first_stage_model.*}, float32),
     * atomically, with {@code scaling} and the GroupNorm groups ({@link VaeFileConfig}'s keys), the settings
     * ({@link #SETTINGS_KEY}) and the steps done ({@link #STEPS_KEY}) in its metadata: {@code OnnxVae.load(file,
     * options)} loads it with all of them.
     */
    public void writeWeights(Path file, LatentScaling scaling) {
        ensureOpen();
        Checks.notNull(file, "file");
        Checks.notNull(scaling, "scaling");
        Map<String, String> metadata = declared(scaling.applyTo(config));
        metadata.put(SETTINGS_KEY, settings.toJson());
        metadata.put(STEPS_KEY, Long.toString(stepsDone));
        Map<String, Tensor> all = new LinkedHashMap<>(frozen);
        all.putAll(weights());
        VaeFiles.write(file, all, metadata);
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("autoencoder trainer is closed");
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            Closeables.closeAll(List.of(vae, session, source));
        } finally {
            if (temporary != null) {
                deleteQuietly(temporary, null);
            }
        }
    }

    /** Deletes a file, or a folder and the files in it. */
    private static void deleteQuietly(Path path, RuntimeException failure) {
        try {
            if (Files.isDirectory(path)) {
                try (java.util.stream.Stream<Path> files = Files.list(path)) {
                    for (Path f : (Iterable<Path>) files::iterator) {
                        Files.deleteIfExists(f);
                    }
                }
            }
            Files.deleteIfExists(path);
        } catch (IOException e) {
            if (failure != null) {
                failure.addSuppressed(e);
            } else {
                LOG.warn("Could not delete the temporary {}: {}; delete it by hand", path, e.getMessage());
            }
        }
    }
}
