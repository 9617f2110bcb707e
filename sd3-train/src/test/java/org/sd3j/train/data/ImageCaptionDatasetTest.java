package org.sd3j.train.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageCaptionDatasetTest {
    private static final AspectBuckets BUCKETS = AspectBuckets.of(32, 16);

    @TempDir
    Path dir;

    @Nested
    class Captions {
        @Test
        void readsTxtSidecarsInSortedOrder() {
            TestImages.withCaption(dir, "b.png", 48, 32, 2, "  a blue bird\n");
            TestImages.withCaption(dir, "a.jpg", 32, 32, 1, "a cat");
            TestImages.withCaption(dir, "sub/c.bmp", 32, 48, 3, "a tall tree");
            TestImages.text(dir.resolve("notes.md"), "not an image");

            ImageCaptionDataset data = ImageCaptionDataset.scan(dir, BUCKETS);

            assertThat(data.items()).extracting(DatasetItem::relativePath).containsExactly("a.jpg", "b.png",
                    "sub/c.bmp");
            assertThat(data.items()).extracting(DatasetItem::caption).containsExactly("a cat", "a blue bird",
                    "a tall tree");
            assertThat(data.items().get(1).width()).isEqualTo(48);
            assertThat(data.items().get(1).bucket()).isEqualTo(BUCKETS.assign(48, 32));
            assertThat(data.skipped()).isEmpty();
            assertThat(data.imageFiles()).isEqualTo(3);
        }

        @Test
        void followsASymbolicLinkAsTheRootKeepingPathsUnderIt() throws IOException {
            Path real = dir.resolve("real");
            TestImages.withCaption(real, "a.png", 32, 32, 1, "a cat");
            TestImages.withCaption(real, "sub/b.png", 32, 32, 2, "a dog");
            Path link = Files.createSymbolicLink(dir.resolve("link"), real);

            ImageCaptionDataset data = ImageCaptionDataset.scan(link, BUCKETS);

            assertThat(data.items()).extracting(DatasetItem::relativePath).containsExactly("a.png", "sub/b.png");
            assertThat(data.items()).extracting(DatasetItem::caption).containsExactly("a cat", "a dog");
            assertThat(data.items().get(1).image()).isEqualTo(link.resolve("sub").resolve("b.png"));
        }

        @Test
        void readsHuggingFaceMetadataJsonlBeforeSidecars() {
            TestImages.write(dir.resolve("x.png"), TestImages.blocks(32, 32, 1));
            TestImages.write(dir.resolve("imgs/y.png"), TestImages.blocks(32, 32, 2));
            TestImages.withCaption(dir, "z.png", 32, 32, 3, "from the sidecar");
            TestImages.text(dir.resolve("z.txt"), "sidecar loses");
            TestImages.text(dir.resolve("metadata.jsonl"), String.join("\n",
                    "{\"file_name\": \"x.png\", \"text\": \"an x\"}",
                    "{\"file_name\": \"./imgs/y.png\", \"text\": \"a y\", \"other\": 1}",
                    "",
                    "{\"file_name\": \"z.png\", \"text\": \"metadata wins\"}"));

            ImageCaptionDataset data = ImageCaptionDataset.scan(dir, BUCKETS);

            assertThat(data.items()).extracting(DatasetItem::relativePath, DatasetItem::caption).containsExactly(
                    org.assertj.core.groups.Tuple.tuple("imgs/y.png", "a y"),
                    org.assertj.core.groups.Tuple.tuple("x.png", "an x"),
                    org.assertj.core.groups.Tuple.tuple("z.png", "metadata wins"));
        }

        @Test
        void captionFieldIsConfigurable() {
            TestImages.write(dir.resolve("x.png"), TestImages.blocks(32, 32, 1));
            TestImages.text(dir.resolve("metadata.jsonl"), "{\"file_name\": \"x.png\", \"caption\": \"an x\"}\n");

            ImageCaptionDataset data = ImageCaptionDataset.scan(dir,
                    ImageCaptionDataset.Options.builder(BUCKETS).captionField("caption").build());

            assertThat(data.items()).extracting(DatasetItem::caption).containsExactly("an x");
        }
    }

    @Nested
    class BadData {
        @Test
        void skipsAreCountedAndLoggedWithFileAndReason() throws IOException {
            TestImages.withCaption(dir, "good.png", 32, 32, 1, "fine");
            TestImages.write(dir.resolve("nocaption.png"), TestImages.blocks(32, 32, 2));
            TestImages.withCaption(dir, "blank.png", 32, 32, 3, "   ");
            TestImages.withCaption(dir, "tiny.png", 16, 16, 4, "too small");
            Files.write(dir.resolve("broken.jpg"), new byte[] {1, 2, 3, 4, 5});
            TestImages.text(dir.resolve("broken.txt"), "caption of a broken file");
            TestImages.text(dir.resolve("metadata.jsonl"), "{not json\n");

            LogCapture.Captured<ImageCaptionDataset> run = LogCapture.run(() -> ImageCaptionDataset.scan(dir,
                    BUCKETS));
            ImageCaptionDataset data = run.result();

            assertThat(data.items()).extracting(DatasetItem::relativePath).containsExactly("good.png");
            assertThat(data.skipCounts()).isEqualTo(Map.of(
                    SkipReason.UNREADABLE_IMAGE, 1, SkipReason.MISSING_CAPTION, 2, SkipReason.TOO_SMALL, 1,
                    SkipReason.DUPLICATE, 0));
            assertThat(data.skipped()).extracting(s -> s.file().getFileName().toString(), SkippedImage::reason)
                    .containsExactly(
                            org.assertj.core.groups.Tuple.tuple("blank.png", SkipReason.MISSING_CAPTION),
                            org.assertj.core.groups.Tuple.tuple("broken.jpg", SkipReason.UNREADABLE_IMAGE),
                            org.assertj.core.groups.Tuple.tuple("nocaption.png", SkipReason.MISSING_CAPTION),
                            org.assertj.core.groups.Tuple.tuple("tiny.png", SkipReason.TOO_SMALL));
            assertThat(run.log())
                    .contains("WARN", "Skipping " + dir.toAbsolutePath().normalize().resolve("nocaption.png")
                            + ": missing caption: no caption: add nocaption.txt beside it")
                    .contains("blank.png: missing caption: its caption file blank.txt is blank")
                    .contains("broken.jpg: unreadable image: ")
                    .contains("tiny.png: too small: 16x16 is smaller than its bucket 32x32")
                    .contains("Ignoring line 1 of " + dir.toAbsolutePath().normalize().resolve("metadata.jsonl") + ": not JSON");
        }

        @Test
        void smallImagesAreKeptWhenUpscalingIsAllowed() {
            TestImages.withCaption(dir, "tiny.png", 16, 16, 4, "too small");
            ImageCaptionDataset data = ImageCaptionDataset.scan(dir,
                    ImageCaptionDataset.Options.builder(BUCKETS).upscaleSmall(true).build());
            assertThat(data.items()).hasSize(1);
        }

        @Test
        void emptyFolderErrorNamesTheFolder() {
            assertThatThrownBy(() -> ImageCaptionDataset.scan(dir, BUCKETS))
                    .isInstanceOf(EmptyDatasetException.class)
                    .hasMessage("No image files (png, jpg, jpeg, webp, bmp) in " + dir.toAbsolutePath().normalize()
                            + ": add images with captions (a .txt file of the same name beside each, or a"
                            + " metadata.jsonl with \"file_name\" and \"text\")");
        }

        @Test
        void allSkippedErrorNamesTheFolderAndTheCountsByReason() throws IOException {
            TestImages.write(dir.resolve("a.png"), TestImages.blocks(32, 32, 1));
            TestImages.withCaption(dir, "b.png", 8, 8, 2, "small");
            Files.write(dir.resolve("c.png"), new byte[] {0});

            EmptyDatasetException e = LogCapture.run(() -> {
                try {
                    ImageCaptionDataset.scan(dir, BUCKETS);
                    return null;
                } catch (EmptyDatasetException thrown) {
                    return thrown;
                }
            }).result();

            assertThat(e).hasMessage("No usable images in " + dir.toAbsolutePath().normalize() + ": all 3 image"
                    + " files were skipped (unreadable image: 1, missing caption: 1, too small: 1, duplicate: 0);"
                    + " the warnings logged for each file say what to fix");
            assertThat(e.folder()).isEqualTo(dir.toAbsolutePath().normalize());
            assertThat(e.skipCounts()).containsEntry(SkipReason.TOO_SMALL, 1);
        }

        @Test
        void missingFolderIsAnArgumentError() {
            assertThatThrownBy(() -> ImageCaptionDataset.scan(dir.resolve("nope"), BUCKETS))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("folder must be an existing directory, found " + dir.resolve("nope"));
        }
    }

    @Nested
    class Deduplication {
        @Test
        void dropsExactAndNearDuplicatesKeepingTheFirstAndDistinctImages() {
            org.sd3j.image.Image original = TestImages.blocks(64, 64, 11, 8);
            TestImages.write(dir.resolve("a.png"), original);
            TestImages.write(dir.resolve("b.png"), original);                                        // exact copy
            TestImages.write(dir.resolve("c.png"), CenterCropResize.apply(original, new BucketSize(48, 48))); // resized
            TestImages.write(dir.resolve("d.png"), TestImages.blocks(64, 64, 12, 8));                // different
            for (String n : new String[] {"a", "b", "c", "d"}) {
                TestImages.text(dir.resolve(n + ".txt"), "caption " + n);
            }

            LogCapture.Captured<ImageCaptionDataset> run = LogCapture.run(() -> ImageCaptionDataset.scan(dir,
                    ImageCaptionDataset.Options.builder(BUCKETS).deduplicate(4).build()));

            assertThat(run.result().items()).extracting(DatasetItem::relativePath).containsExactly("a.png", "d.png");
            assertThat(run.result().skipCounts()).containsEntry(SkipReason.DUPLICATE, 2);
            assertThat(run.result().skipped()).extracting(SkippedImage::detail).allSatisfy(d ->
                    assertThat(d).startsWith("a near duplicate of a.png (dHash distance "));
            assertThat(run.log()).contains("b.png: a near duplicate of a.png (dHash distance 0 <= 4)")
                    .contains("c.png: a near duplicate of a.png");
        }

        @Test
        void isOffByDefault() {
            org.sd3j.image.Image original = TestImages.blocks(32, 32, 11, 8);
            TestImages.write(dir.resolve("a.png"), original);
            TestImages.write(dir.resolve("b.png"), original);
            TestImages.text(dir.resolve("a.txt"), "a");
            TestImages.text(dir.resolve("b.txt"), "b");
            assertThat(ImageCaptionDataset.scan(dir, BUCKETS).items()).hasSize(2);
        }
    }
}
