package org.sd3j;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

import org.sd3j.conditioning.Conditioning;
import org.sd3j.guidance.ClassifierFreeGuidance;
import org.sd3j.image.Image;
import org.sd3j.internal.Checks;
import org.sd3j.lora.LoraRequest;
import org.sd3j.model.EncoderRole;
import org.sd3j.model.LatentDistribution;
import org.sd3j.model.LatentFormat;
import org.sd3j.model.Vae;
import org.sd3j.sampler.Sampler;
import org.sd3j.sampler.SamplerRun;
import org.sd3j.schedule.Sigmas;
import org.sd3j.schedule.TimeShift;
import org.sd3j.tensor.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One generation from start to end: resolve settings, encode prompts, prepare latents (noise, img2img,
 * inpainting), run the sampler, decode. Confined to the executing thread.
 */
final class GenerationRun {
    private static final Logger LOG = LoggerFactory.getLogger(GenerationRun.class);

    private final Sd3Pipeline pipeline;
    private final GenerationRequest request;
    private final Generation handle;
    private final GenerationListener listener;

    GenerationRun(Sd3Pipeline pipeline, GenerationRequest request, Generation handle) {
        this.pipeline = pipeline;
        this.request = request;
        this.handle = handle;
        this.listener = pipeline.listener();
    }

    GenerationResult run() {
        long start = System.nanoTime();
        Settings s = resolve();
        Progress progress = new Progress();
        GenerationResult result;
        try {
            listener.onStart(new GenerationStart(s.width, s.height, s.batch, s.sigmas.steps() - s.startIndex,
                    s.seed, s.guided));
            handle.checkCanceled(0);
            result = generate(s, start, progress);
        } catch (GenerationCanceledException e) {
            notifySafely(() -> listener.onCancel(progress.completed), e);
            throw e;
        } catch (RuntimeException | Error e) {
            notifySafely(() -> listener.onFailure(e), e);
            throw e;
        }
        // Outside the try: exactly one of onEnd, onFailure and onCancel is sent, so an exception thrown by
        // onEnd itself propagates without a second, contradictory onFailure event.
        listener.onEnd(result);
        return result;
    }

    private static final class Progress {
        int completed;
    }

    private GenerationResult generate(Settings s, long start, Progress progress) {
        LOG.debug("Generating {} with {}", request, pipeline);
        LOG.debug("Prompt: '{}', negative: '{}'", request.prompt(), request.negativePrompt());
        AppliedLoras loras = AppliedLoras.apply(request.loras().orElse(pipeline.loras()), pipeline.denoiser(),
                pipeline.promptEncoder());
        // Encode once at batch 1; the batch shares prompts.
        Conditioning positive = loras.promptEncoder().encode(List.of(request.prompt()), overrides());
        Conditioning negative = s.guided
                ? loras.promptEncoder().encode(List.of(request.negativePrompt()))
                : null;
        positive = positive.repeat(s.batch);
        negative = negative == null ? null : negative.repeat(s.batch);

        LatentFormat format = pipeline.latentFormat();
        int[] shape = format.latentShape(s.batch, s.width, s.height);
        BatchNoise noise = new BatchNoise(s.seed, s.batch);
        Tensor initialNoise = Tensor.zeros(shape);
        noise.fillNormal(initialNoise);
        Tensor x;
        Tensor imageLatents = null;
        Tensor latentMask = null;
        if (request.initImage().isPresent()) {
            Vae vae = pipeline.vae().orElseThrow();
            Image init = request.initImage().get();
            LatentDistribution dist = BackendException.wrap("vae", "encode", () -> vae.encode(init.toTensor()));
            Tensor sampleNoise = Tensor.zeros(shape);
            noise.fillNormal(sampleNoise);
            LatentDistribution batched = new LatentDistribution(dist.mean().repeat(s.batch),
                    dist.logvar().repeat(s.batch));
            if (!batched.mean().hasShape(shape)) {
                throw new BackendException("vae", "encode", "returned latents " + dist.mean() + " for image "
                        + init + "; expected [1, " + shape[1] + ", " + shape[2] + ", " + shape[3] + "]");
            }
            imageLatents = format.toDenoiserSpace(batched.sample(sampleNoise));
            x = renoise(imageLatents, initialNoise, s.sigmas.get(s.startIndex));
            if (request.mask().isPresent()) {
                latentMask = downsampleMask(request.mask().get().toGray(), shape);
            }
        } else {
            x = initialNoise.copy();
        }
        long encoded = System.nanoTime();

        SamplerRun run = s.sampler.start(s.sigmas, noise);
        int total = s.sigmas.steps() - s.startIndex;
        try (GuidedVelocity model = new GuidedVelocity(loras.denoiser(), positive, negative, s.guidance,
                pipeline.skipLayerGuidance().orElse(null), handle, shape, pipeline.guidanceBatching())) {
            long stepStart = System.nanoTime();
            for (int i = s.startIndex; i < s.sigmas.steps(); i++) {
                handle.checkCanceled(progress.completed);
                model.beginStep(i, progress.completed, s.sigmas.steps());
                run.step(i, x, model);
                if (latentMask != null) {
                    blendKnownRegion(x, latentMask, imageLatents, initialNoise, s.sigmas.get(i + 1));
                }
                progress.completed++;
                long now = System.nanoTime();
                Tensor current = x;
                listener.onStep(new StepEvent(progress.completed, total, i, s.sigmas.get(i), s.sigmas.get(i + 1),
                        Duration.ofNanos(now - start), Duration.ofNanos(now - stepStart), current::copy));
                stepStart = now;
            }
        }
        long denoised = System.nanoTime();

        List<Image> images = List.of();
        if (pipeline.vae().isPresent()) {
            Vae vae = pipeline.vae().get();
            Tensor vaeLatents = format.toVaeSpace(x);
            Tensor decoded = BackendException.wrap("vae", "decode", () -> vae.decode(vaeLatents));
            if (decoded == null || !decoded.hasShape(s.batch, 3, s.height, s.width)) {
                throw new BackendException("vae", "decode", "returned " + decoded + " for latents " + x
                        + "; expected [" + s.batch + ", 3, " + s.height + ", " + s.width + "]");
            }
            images = Image.fromBatch(decoded);
        }
        long end = System.nanoTime();
        Timings timings = new Timings(Duration.ofNanos(encoded - start), Duration.ofNanos(denoised - encoded),
                Duration.ofNanos(end - denoised), Duration.ofNanos(end - start));
        List<LoraRequest> recorded = new ArrayList<>(pipeline.mergedLoras());
        recorded.addAll(loras.active());
        List<String> parameters = new ArrayList<>();
        for (int i = 0; i < s.batch; i++) {
            parameters.add(A1111Parameters.format(request, s.steps, s.sampler.name(), s.guidance, s.seed + i,
                    s.width, s.height, s.shift, pipeline.schedule().name(), pipeline.modelName(), recorded));
        }
        LOG.debug("Generated {} image(s) in {} ms ({} ms denoising)", s.batch, timings.total().toMillis(),
                timings.denoise().toMillis());
        return new GenerationResult(images, x, s.seed, timings, parameters);
    }

    private Map<EncoderRole, List<String>> overrides() {
        Map<EncoderRole, List<String>> out = new LinkedHashMap<>();
        request.promptOverrides().forEach((role, prompt) -> out.put(role, List.of(prompt)));
        return out;
    }

    /** {@code sigma * noise + (1 - sigma) * latents} (SPEC §2.9), a new tensor. */
    static Tensor renoise(Tensor latents, Tensor noise, float sigma) {
        Tensor out = Tensor.zeros(latents.shape());
        float keep = 1f - sigma;
        for (int i = 0; i < out.size(); i++) {
            out.set(i, sigma * noise.get(i) + keep * latents.get(i));
        }
        return out;
    }

    /**
     * Inpainting: after the step reaching {@code nextSigma}, the known region (mask 0) is reset to the init
     * image's latents noised to that level, as diffusers' SD3 inpainting pipeline does.
     */
    private static void blendKnownRegion(Tensor x, Tensor mask, Tensor imageLatents, Tensor noise, float nextSigma) {
        float keep = 1f - nextSigma;
        int plane = mask.size();
        for (int i = 0; i < x.size(); i++) {
            float m = mask.get(i % plane);
            float known = nextSigma * noise.get(i) + keep * imageLatents.get(i);
            x.set(i, m * x.get(i) + (1f - m) * known);
        }
    }

    /** Averages the pixel mask [H, W] over each latent cell: [h, w] in [0, 1]. */
    static Tensor downsampleMask(Tensor pixelMask, int[] latentShape) {
        int h = latentShape[2];
        int w = latentShape[3];
        int fy = pixelMask.dim(0) / h;
        int fx = pixelMask.dim(1) / w;
        int width = pixelMask.dim(1);
        Tensor out = Tensor.zeros(h, w);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                float sum = 0;
                for (int dy = 0; dy < fy; dy++) {
                    for (int dx = 0; dx < fx; dx++) {
                        sum += pixelMask.get((y * fy + dy) * width + x * fx + dx);
                    }
                }
                out.set(y * w + x, sum / (fx * fy));
            }
        }
        return out;
    }

    private static void notifySafely(Runnable event, Throwable original) {
        try {
            event.run();
        } catch (RuntimeException | Error e) {
            original.addSuppressed(e);
        }
    }

    private Settings resolve() {
        Settings s = new Settings();
        s.batch = request.batchSize();
        if (request.width().isPresent()) {
            s.width = request.width().getAsInt();
            s.height = request.height().getAsInt();
        } else if (request.initImage().isPresent()) {
            s.width = Checks.multipleOf16(request.initImage().get().width(), "initImage width");
            s.height = Checks.multipleOf16(request.initImage().get().height(), "initImage height");
        } else {
            s.width = pipeline.width();
            s.height = pipeline.height();
        }
        if (request.initImage().isPresent() && pipeline.vae().isEmpty()) {
            throw Checks.fail("initImage", "used with a pipeline that has a VAE", "a pipeline without one");
        }
        s.guidance = request.guidance().orElse(pipeline.guidance());
        s.guided = ClassifierFreeGuidance.isEnabled(s.guidance);
        s.shift = request.shift().orElse(pipeline.shift());
        s.sampler = request.sampler().orElse(pipeline.sampler());
        var fixed = pipeline.schedule().fixedSteps();
        s.steps = request.steps().orElse(fixed.isPresent() ? fixed.getAsInt() : pipeline.steps());
        s.sigmas = pipeline.schedule().sigmas(s.steps, s.shift);
        s.startIndex = request.initImage().isPresent() ? s.sigmas.startIndexForStrength(request.strength()) : 0;
        if (s.startIndex >= s.sigmas.steps()) {
            throw Checks.fail("strength", "large enough to leave at least one of " + s.steps + " steps",
                    request.strength());
        }
        s.seed = request.seed().orElse(pipeline.seed().orElse(ThreadLocalRandom.current().nextLong(1L << 32)));
        return s;
    }

    private static final class Settings {
        int width;
        int height;
        int batch;
        int steps;
        double guidance;
        boolean guided;
        TimeShift shift;
        Sampler sampler;
        Sigmas sigmas;
        int startIndex;
        long seed;
    }
}
