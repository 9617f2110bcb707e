package org.sd3j.train.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.image.Image;

class ImageFolderTest {
    @TempDir
    Path dir;

    @Test
    void readsEveryUsableImageCroppedToTheSizeInSortedOrderIgnoringCaptions() {
        Image a = TestImages.blocks(64, 64, 1);
        TestImages.write(dir.resolve("b.png"), TestImages.blocks(96, 64, 2));
        TestImages.write(dir.resolve("a.png"), a);
        TestImages.write(dir.resolve("sub").resolve("c.png"), TestImages.blocks(80, 80, 3));
        TestImages.write(dir.resolve(".hidden.png"), TestImages.blocks(64, 64, 4));
        TestImages.write(dir.resolve("small.png"), TestImages.blocks(32, 32, 5));
        TestImages.text(dir.resolve("broken.png"), "not an image");
        TestImages.text(dir.resolve("a.txt"), "a caption nobody reads");

        List<Image> images = ImageFolder.read(dir, new BucketSize(64, 64));

        assertThat(images).hasSize(3).allMatch(i -> i.width() == 64 && i.height() == 64);
        assertThat(images.get(0).toRgbBytes()).isEqualTo(a.toRgbBytes()); // a.png, already the size: untouched
        assertThat(images.get(1).toRgbBytes()).isEqualTo(CenterCropResize.apply(TestImages.blocks(96, 64, 2),
                new BucketSize(64, 64)).toRgbBytes());
    }

    @Test
    void aFolderWithNothingUsableIsAnEmptyDataset() {
        TestImages.write(dir.resolve("small.png"), TestImages.blocks(32, 32, 5));
        assertThatThrownBy(() -> ImageFolder.read(dir, new BucketSize(64, 64)))
                .isInstanceOf(EmptyDatasetException.class).hasMessageContaining("too small");
        assertThatThrownBy(() -> ImageFolder.read(dir.resolve("missing"), new BucketSize(64, 64)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("folder must be an existing directory");
    }
}
