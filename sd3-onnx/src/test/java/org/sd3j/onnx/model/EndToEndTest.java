package org.sd3j.onnx.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.GenerationRequest;
import org.sd3j.GenerationResult;
import org.sd3j.GuidanceBatching;
import org.sd3j.Sd3Pipeline;
import org.sd3j.image.Image;
import org.sd3j.model.EncoderRole;
import org.sd3j.model.TextEncoder;
import org.sd3j.onnx.convert.CheckpointConverter;
import org.sd3j.onnx.model.CombinedCheckpoint.Part;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.runtime.OnnxRunStatistics;
import org.sd3j.sampler.Samplers;
import org.sd3j.tensor.Tensor;

/**
 * Whole generations through ONNX Runtime on a tiny SD3 (golden CLIP-L, CLIP-G, T5 and VAE weights, a random
 * depth-1 MMDiT), loaded two ways: the single-file checkpoint (graphs built in memory) and the ONNX folder that
 * {@code sd3 convert} writes from it. Both routes run the same graphs on the same weights, so they must give the
 * same images bit for bit.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EndToEndTest {
    private Path dir;
    private Sd3Model checkpoint;
    private Sd3Model folder;
    private final OnnxRunStatistics folderRuns = new OnnxRunStatistics();

    @BeforeAll
    void load(@TempDir Path tmp) throws Exception {
        dir = tmp;
        Path ckpt = CombinedCheckpoint.write(dir, EnumSet.allOf(Part.class), n -> false);
        Path onnx = dir.resolve("onnx");
        CheckpointConverter.convert(ckpt, onnx, CombinedCheckpoint.CLIP_HEADS);
        Sd3Model.Options options = Sd3ModelTest.withTokenizers(CombinedCheckpoint.options());
        checkpoint = Sd3Model.load(ckpt, OnnxOptions.cpu(), options);
        folder = Sd3Model.load(onnx, OnnxOptions.builder().runListener(folderRuns).build(), options);
    }

    @AfterAll
    void close() {
        folder.close();
        checkpoint.close();
    }

    private static GenerationRequest.Builder request() {
        return GenerationRequest.builder("a red fox").negativePrompt("blurry").seed(11).size(64, 64).steps(4)
                .guidance(4.5);
    }

    private static void assertSameImages(GenerationResult a, GenerationResult b) {
        assertThat(b.latents().maxAbsDiff(a.latents())).isZero();
        assertThat(b.images()).hasSameSizeAs(a.images());
        for (int i = 0; i < a.images().size(); i++) {
            assertThat(b.images().get(i).toTensor().maxAbsDiff(a.images().get(i).toTensor())).isZero();
        }
    }

    @Test
    void bothRoutesLoadTheSameComponents() {
        assertThat(folder.format()).isEqualTo(Sd3Model.Format.ONNX);
        assertThat(checkpoint.format()).isEqualTo(Sd3Model.Format.CHECKPOINT);
        assertThat(folder.encoders()).extracting(TextEncoder::role)
                .containsExactly(EncoderRole.CLIP_L, EncoderRole.CLIP_G, EncoderRole.T5);
        assertThat(folder.layout().slots()).isEqualTo(checkpoint.layout().slots());
        assertThat(folder.vae()).isPresent();
        assertThat(folder.shift()).isEqualTo(checkpoint.shift());
    }

    @Test
    void textToImageGivesIdenticalImagesByBothRoutes() {
        GenerationRequest r = request().batchSize(2).build();
        GenerationResult a = checkpoint.pipelineBuilder().build().generate(r);
        GenerationResult b = folder.pipelineBuilder().build().generate(r);
        assertThat(a.images()).hasSize(2);
        assertThat(a.images().get(0).width()).isEqualTo(64);
        assertThat(a.latents().allFinite()).isTrue();
        assertSameImages(a, b);
        // The two images of a batch have their own seeds, so they differ.
        assertThat(a.images().get(0).toTensor().maxAbsDiff(a.images().get(1).toTensor())).isPositive();
    }

    @Test
    void everySamplerGivesIdenticalImagesByBothRoutes() {
        for (String sampler : Samplers.availableNames()) {
            GenerationRequest r = request().sampler(sampler).build();
            GenerationResult a = checkpoint.pipelineBuilder().build().generate(r);
            GenerationResult b = folder.pipelineBuilder().build().generate(r);
            assertThat(a.latents().allFinite()).as(sampler).isTrue();
            assertSameImages(a, b);
        }
    }

    @Test
    void imageToImageAndInpaintingGiveIdenticalImagesByBothRoutes() {
        Image init = checkpoint.pipelineBuilder().build().generate(request().seed(5).build()).images().get(0);
        GenerationRequest img2img = request().initImage(init, 0.6).build();
        GenerationResult a = checkpoint.pipelineBuilder().build().generate(img2img);
        assertSameImages(a, folder.pipelineBuilder().build().generate(img2img));
        assertThat(a.images().get(0).toTensor().maxAbsDiff(init.toTensor())).isPositive();

        Image mask = CombinedCheckpointImages.leftHalfMask(64, 64);
        GenerationRequest inpaint = request().initImage(init, 1.0).mask(mask).build();
        GenerationResult c = checkpoint.pipelineBuilder().build().generate(inpaint);
        assertSameImages(c, folder.pipelineBuilder().build().generate(inpaint));
    }

    @Test
    void sequentialGuidanceMatchesBatchedGuidance() {
        GenerationRequest r = request().build();
        for (Sd3Model m : List.of(checkpoint, folder)) {
            Tensor batched = m.pipelineBuilder().build().generate(r).latents();
            Tensor sequential = m.pipelineBuilder().guidanceBatching(GuidanceBatching.SEQUENTIAL).build()
                    .generate(r).latents();
            // Batch 1 and batch 2 forwards may round differently in ONNX Runtime's kernels.
            assertThat(sequential.maxAbsDiff(batched)).isLessThan(1e-4);
        }
    }

    @Test
    void concurrentGenerationsGiveExactlyTheirSequentialImages() throws Exception {
        Sd3Pipeline pipeline = folder.pipelineBuilder().build();
        int n = 4;
        List<GenerationResult> sequential = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            sequential.add(pipeline.generate(request().seed(100 + i).sampler(i % 2 == 0 ? "euler" : "heun").build()));
        }
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<GenerationResult>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                GenerationRequest r = request().seed(100 + i).sampler(i % 2 == 0 ? "euler" : "heun").build();
                futures.add(pool.submit(() -> pipeline.generate(r)));
            }
            for (int i = 0; i < n; i++) {
                assertSameImages(sequential.get(i), futures.get(i).get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void encoderSubsetsGenerateAndChangeTheImage() throws Exception {
        GenerationRequest r = request().build();
        Tensor full = checkpoint.pipelineBuilder().build().generate(r).latents();
        for (Set<Part> parts : List.of(EnumSet.of(Part.CLIP_G, Part.VAE), EnumSet.of(Part.CLIP_L, Part.CLIP_G, Part.VAE),
                EnumSet.of(Part.T5, Part.VAE), EnumSet.of(Part.VAE))) {
            Path sub = dir.resolve("subset-" + parts.size() + "-" + parts.hashCode());
            java.nio.file.Files.createDirectories(sub);
            Path ckpt = CombinedCheckpoint.write(sub, parts, n -> false);
            Path onnx = sub.resolve("onnx");
            CheckpointConverter.convert(ckpt, onnx, CombinedCheckpoint.CLIP_HEADS);
            Sd3Model.Options o = Sd3ModelTest.withTokenizers(CombinedCheckpoint.options());
            try (Sd3Model a = Sd3Model.load(ckpt, OnnxOptions.cpu(), o);
                 Sd3Model b = Sd3Model.load(onnx, OnnxOptions.cpu(), o)) {
                assertThat(b.encoders()).extracting(TextEncoder::role)
                        .as(parts.toString()).hasSize(parts.size() - 1);
                GenerationResult ra = a.pipelineBuilder().build().generate(r);
                assertSameImages(ra, b.pipelineBuilder().build().generate(r));
                assertThat(ra.latents().maxAbsDiff(full)).as(parts.toString()).isPositive();
            }
        }
    }

    /** optimum writes {@code model.onnx_data}, others {@code model.onnx.data} or anything: ONNX Runtime follows the model. */
    @Test
    void externalDataFilesAreFoundWhateverTheirName() throws Exception {
        Path copy = dir.resolve("renamed");
        Path source = folder.path();
        try (java.util.stream.Stream<Path> files = java.nio.file.Files.walk(source)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Path target = copy.resolve(source.relativize(p).toString());
                if (java.nio.file.Files.isDirectory(p)) {
                    java.nio.file.Files.createDirectories(target);
                } else {
                    java.nio.file.Files.copy(p, target);
                }
            }
        }
        Path model = copy.resolve("transformer").resolve("model.onnx");
        ai.onnx.proto.OnnxMl.ModelProto.Builder proto = ai.onnx.proto.OnnxMl.ModelProto.parseFrom(
                java.nio.file.Files.readAllBytes(model)).toBuilder();
        for (ai.onnx.proto.OnnxMl.TensorProto.Builder t : proto.getGraphBuilder().getInitializerBuilderList()) {
            for (ai.onnx.proto.OnnxMl.StringStringEntryProto.Builder e : t.getExternalDataBuilderList()) {
                if (e.getKey().equals("location")) {
                    e.setValue("weights.bin");
                }
            }
        }
        java.nio.file.Files.write(model, proto.build().toByteArray());
        java.nio.file.Files.move(copy.resolve("transformer").resolve("model.onnx_data"),
                copy.resolve("transformer").resolve("weights.bin"));
        GenerationRequest r = request().build();
        try (Sd3Model renamed = Sd3Model.load(copy, OnnxOptions.cpu(),
                Sd3ModelTest.withTokenizers(CombinedCheckpoint.options()))) {
            assertSameImages(folder.pipelineBuilder().build().generate(r), renamed.pipelineBuilder().build().generate(r));
        }
    }

    @Test
    void theRunListenerSeesEveryOnnxRuntimeCall() {
        long before = folderRuns.calls();
        folder.pipelineBuilder().build().generate(request().steps(3).build());
        // 3 encoders x 2 prompts (positive, negative), 3 denoiser steps, 1 decode.
        assertThat(folderRuns.calls() - before).isEqualTo(3 * 2 + 3 + 1);
        assertThat(folderRuns.time()).isPositive();
    }
}
