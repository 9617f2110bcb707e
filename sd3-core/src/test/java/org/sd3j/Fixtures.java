package org.sd3j;

import org.sd3j.conditioning.ConditioningLayout;
import org.sd3j.image.Image;
import org.sd3j.model.Denoiser;
import org.sd3j.model.EncoderRole;
import org.sd3j.random.TorchGenerator;
import org.sd3j.tensor.Tensor;
import org.sd3j.testing.FakeTextEncoder;

/** Small shared set-ups for the pipeline tests: 64x64 images, latents [B, 16, 8, 8], a tiny conditioning layout. */
final class Fixtures {
    /** CLIP-L 5x8 (pooled 8), CLIP-G 5x12 (pooled 12), T5 7x16; context [B, 12, 24], pooled [B, 20]. */
    static final ConditioningLayout LAYOUT = ConditioningLayout.builder()
            .slot(EncoderRole.CLIP_L, 5, 8, 8)
            .slot(EncoderRole.CLIP_G, 5, 12, 12)
            .slot(EncoderRole.T5, 7, 16, 0)
            .contextDim(24)
            .build();

    static final int SIZE = 64;
    static final int[] LATENT_SHAPE = {1, 16, 8, 8};

    private Fixtures() {
    }

    static FakeTextEncoder clipL() {
        return FakeTextEncoder.forSlot(LAYOUT.slot(EncoderRole.CLIP_L).orElseThrow());
    }

    static FakeTextEncoder clipG() {
        return FakeTextEncoder.forSlot(LAYOUT.slot(EncoderRole.CLIP_G).orElseThrow());
    }

    static FakeTextEncoder t5() {
        return FakeTextEncoder.forSlot(LAYOUT.slot(EncoderRole.T5).orElseThrow());
    }

    /** Small layout, all three fake encoders, 64x64, 4 steps, seed 42, CFG 7 (defaults otherwise). */
    static Sd3Pipeline.Builder pipeline(Denoiser denoiser) {
        return Sd3Pipeline.builder()
                .layout(LAYOUT)
                .encoders(clipL(), clipG(), t5())
                .denoiser(denoiser)
                .size(SIZE, SIZE)
                .steps(4)
                .seed(42);
    }

    /** What {@code torch.manual_seed(seed); torch.randn(shape)} gives, through sd3j's generator. */
    static Tensor torchNoise(long seed, int... shape) {
        Tensor t = Tensor.zeros(shape);
        new TorchGenerator(seed).fillNormal(t.asFloatBuffer(), 0, t.size());
        return t;
    }

    /** The second {@code shape}-sized draw of a generator seeded with {@code seed}. */
    static Tensor secondTorchDraw(long seed, int... shape) {
        Tensor first = Tensor.zeros(shape);
        Tensor second = Tensor.zeros(shape);
        TorchGenerator g = new TorchGenerator(seed);
        g.fillNormal(first.asFloatBuffer(), 0, first.size());
        g.fillNormal(second.asFloatBuffer(), 0, second.size());
        return second;
    }

    /** An image constant on each 8x8 block, with a different colour per block and channel. */
    static Image blockImage(int width, int height) {
        byte[] rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int bx = x / 8;
                int by = y / 8;
                int o = (y * width + x) * 3;
                rgb[o] = (byte) (bx * 29 + by * 7);
                rgb[o + 1] = (byte) (255 - bx * 13 - by * 17);
                rgb[o + 2] = (byte) ((bx * by * 11 + 40) & 0xff);
            }
        }
        return Image.of(width, height, rgb);
    }

    /** A single-colour image. */
    static Image solid(int width, int height, int gray) {
        byte[] rgb = new byte[width * height * 3];
        java.util.Arrays.fill(rgb, (byte) gray);
        return Image.of(width, height, rgb);
    }

    /** A mask that is white (repaint) where {@code x < whiteColumns}, black elsewhere. */
    static Image leftMask(int width, int height, int whiteColumns) {
        byte[] rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < whiteColumns; x++) {
                int o = (y * width + x) * 3;
                rgb[o] = rgb[o + 1] = rgb[o + 2] = (byte) 255;
            }
        }
        return Image.of(width, height, rgb);
    }

    /** Whether two tensors hold bit-identical values (and shapes). */
    static boolean bitIdentical(Tensor a, Tensor b) {
        if (!a.hasShape(b.shape())) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            if (Float.floatToRawIntBits(a.get(i)) != Float.floatToRawIntBits(b.get(i))) {
                return false;
            }
        }
        return true;
    }
}
