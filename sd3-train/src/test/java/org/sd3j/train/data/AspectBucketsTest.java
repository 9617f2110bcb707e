package org.sd3j.train.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;

class AspectBucketsTest {
    private static final AspectBuckets S256_STEP64 = AspectBuckets.of(256, 64);

    @Test
    void sizesNearTheTargetAreaFromTallToWide() {
        assertThat(S256_STEP64.sizes()).extracting(BucketSize::toString)
                .containsExactly("128x512", "192x320", "256x256", "320x192", "384x128", "448x128", "512x128");
    }

    @Test
    void step16BucketsStayWithinTheAreaAndTheAspectLimit() {
        AspectBuckets buckets = AspectBuckets.of(256, 16);
        assertThat(buckets.sizes()).contains(new BucketSize(256, 256)).allSatisfy(b -> {
            assertThat(b.width() % 16).isZero();
            assertThat(b.height() % 16).isZero();
            assertThat(b.area()).isLessThanOrEqualTo(256 * 256).isGreaterThan(256 * 256 * 8 / 10);
            assertThat(b.aspectRatio()).isBetween(0.25, 4.0);
        });
        assertThat(buckets.sizes()).isSorted();
    }

    @Test
    void assignsTheBucketClosestInAspectRatio() {
        assertThat(S256_STEP64.assign(1000, 1000)).isEqualTo(new BucketSize(256, 256));
        assertThat(S256_STEP64.assign(1024, 512)).isEqualTo(new BucketSize(320, 192));   // 2:1 -> 1.67 beats 3
        assertThat(S256_STEP64.assign(600, 800)).isEqualTo(new BucketSize(192, 320));    // 3:4 -> 0.6 beats 1
        assertThat(S256_STEP64.assign(3000, 1000)).isEqualTo(new BucketSize(384, 128));  // exactly 3:1
        assertThat(S256_STEP64.assign(5000, 100)).isEqualTo(new BucketSize(512, 128));   // beyond the widest
        assertThat(AspectBuckets.of(256, 16).assign(1920, 1080)).isEqualTo(new BucketSize(336, 192));
    }

    @Test
    void assignmentIsDeterministicAndTiesGoToTheTallerBucket() {
        AspectBuckets two = AspectBuckets.of(List.of(new BucketSize(64, 32), new BucketSize(32, 64)));
        assertThat(two.sizes()).containsExactly(new BucketSize(32, 64), new BucketSize(64, 32));
        assertThat(two.assign(50, 50)).isEqualTo(new BucketSize(32, 64)).isEqualTo(two.assign(50, 50));
    }

    @Test
    void singleBucketTakesEveryImage() {
        AspectBuckets one = AspectBuckets.single(64, 48);
        assertThat(one.assign(10, 1000)).isEqualTo(new BucketSize(64, 48));
        assertThat(one.assign(1000, 10)).isEqualTo(new BucketSize(64, 48));
    }

    @Test
    void rejectsBadArguments() {
        assertThatThrownBy(() -> AspectBuckets.of(256, 24)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("step must be a positive multiple of 16, found 24");
        assertThatThrownBy(() -> AspectBuckets.of(200, 64)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("side must be a positive multiple of step 64, found 200");
        assertThatThrownBy(() -> AspectBuckets.of(256, 64, 0.5)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxAspect must be finite and >= 1, found 0.5");
        assertThatThrownBy(() -> new BucketSize(100, 64)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("width must be a positive multiple of 16, found 100");
        assertThatThrownBy(() -> BucketSize.parse("64by64")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("bucket size must be WIDTHxHEIGHT, found '64by64'");
    }

    @Test
    void bucketSizeParsesWhatItPrints() {
        assertThat(BucketSize.parse(new BucketSize(320, 192).toString())).isEqualTo(new BucketSize(320, 192));
    }
}
